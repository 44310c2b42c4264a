//! The metadata store on PostgreSQL (`SENTIO_DATABASE_URL=postgres://…`), for several
//! people, CI runners and cluster pods sharing one registry. The same rows as the SQLite
//! store (schema: `migrations/postgres/`); every change is one transaction, and the two
//! changes that read before they write are safe under concurrent writers: registration
//! locks the versions table against other registrations (numbers stay dense per group),
//! and an approval is one conditional `UPDATE … WHERE status = from`.
//!
//! One connection per process, shared by its threads like the SQLite store's, reconnected
//! when the server closed it. Each trait method is one small function below.
use super::blocking::off_runtime;
use super::records::*;
use super::MetadataStore;
use crate::error::{PipelineError, Result};
use postgres::{Client, GenericClient, NoTls, Row};
use serde_json::Value;
use std::sync::Mutex;

pub struct PgStore {
    url: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &super::config::redact_url(&self.url))
            .finish()
    }
}

fn js(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn parse_json(s: Option<String>) -> Value {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn parse_enum<T: std::str::FromStr<Err = String>>(s: String) -> Result<T> {
    s.parse().map_err(PipelineError::StoreConfig)
}

const EXEC_COLS: &str = "id, pipeline, status, parameters, definition, code_version, trigger, pid, started_at, ended_at, failure_reason, manifest";

fn exec_row(r: &Row) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: r.get(0),
        pipeline: r.get(1),
        status: parse_enum(r.get(2))?,
        parameters: parse_json(r.get(3)),
        definition: parse_json(r.get(4)),
        code_version: r.get(5),
        trigger: r.get(6),
        pid: u32::try_from(r.get::<_, i64>(7)).unwrap_or(0),
        started_at: r.get(8),
        ended_at: r.get(9),
        failure_reason: r.get(10),
        manifest: r.get::<_, Option<String>>(11).map(|s| parse_json(Some(s))),
    })
}

const STEP_COLS: &str = "s.id, s.execution_id, s.step, s.kind, s.status, s.cache_key, s.key_parts, s.cache_decision, s.cached_from, s.outputs, s.properties, s.started_at, s.ended_at, s.duration_s, s.log_excerpt, s.failure_reason";

fn step_row(r: &Row) -> Result<StepRecord> {
    Ok(StepRecord {
        id: r.get(0),
        execution_id: r.get(1),
        step: r.get(2),
        kind: r.get(3),
        status: parse_enum(r.get(4))?,
        cache_key: r.get(5),
        key_parts: r.get::<_, Option<String>>(6).map(|s| parse_json(Some(s))),
        cache_decision: r.get(7),
        cached_from: r.get(8),
        outputs: serde_json::from_str(r.get(9)).unwrap_or_default(),
        properties: parse_json(r.get(10)),
        started_at: r.get(11),
        ended_at: r.get(12),
        duration_s: r.get(13),
        log_excerpt: r.get(14),
        failure_reason: r.get(15),
    })
}

const VERSION_COLS: &str =
    "version, grp, number, artifact_digest, status, metrics, lineage, execution_id, created_at";

fn version_row(r: &Row) -> Result<ModelVersion> {
    Ok(ModelVersion {
        version: r.get(0),
        group: r.get(1),
        number: r.get(2),
        artifact_digest: r.get(3),
        status: parse_enum(r.get(4))?,
        metrics: parse_json(r.get(5)),
        lineage: parse_json(r.get(6)),
        execution_id: r.get(7),
        created_at: r.get(8),
    })
}

fn event_row(r: &Row) -> Result<RegistryEvent> {
    Ok(RegistryEvent {
        id: r.get(0),
        at: r.get(1),
        group: r.get(2),
        version: r.get(3),
        event: r.get(4),
        from_status: r.get(5),
        to_status: r.get(6),
        actor: r.get(7),
        note: r.get(8),
        endpoint: r.get(9),
        variant: r.get(10),
    })
}

fn artifact_row(r: &Row) -> Result<ArtifactRecord> {
    Ok(ArtifactRecord {
        digest: r.get(0),
        step: r.get(1),
        output: r.get(2),
        execution_id: r.get(3),
        parents: serde_json::from_str(r.get(4)).unwrap_or_default(),
        created_at: r.get(5),
    })
}

fn rows<T>(rows: Vec<Row>, f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn insert_event(c: &mut impl GenericClient, e: &RegistryEvent) -> Result<()> {
    c.execute(
        "INSERT INTO registry_events (at, grp, version, event, from_status, to_status, actor, note, endpoint, variant) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[&e.at, &e.group, &e.version, &e.event, &e.from_status, &e.to_status, &e.actor, &e.note, &e.endpoint, &e.variant],
    )?;
    Ok(())
}

fn event(
    group: String,
    version: &str,
    event: &str,
    from: Option<ApprovalStatus>,
    to: ApprovalStatus,
    actor: &str,
    note: String,
) -> RegistryEvent {
    RegistryEvent {
        id: 0,
        at: now(),
        group,
        version: version.to_string(),
        event: event.into(),
        from_status: from.map(|s| s.as_str().into()),
        to_status: Some(to.as_str().into()),
        actor: actor.to_string(),
        note,
        endpoint: None,
        variant: None,
    }
}

/// The connection holds a runtime of its own, which must not be closed on an async
/// thread (an endpoint drops its registry catalog there).
impl Drop for PgStore {
    fn drop(&mut self) {
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = client {
            off_runtime(move || drop(c));
        }
    }
}

impl PgStore {
    /// Connects and brings the schema to the newest version.
    pub fn connect(url: &str) -> Result<Self> {
        super::config::postgres_url(url)?;
        let store = PgStore {
            url: url.to_string(),
            client: Mutex::new(None),
        };
        let applied = store.with(super::migrations::postgres)?;
        if !applied.is_empty() {
            tracing::info!(?applied, "metadata store (PostgreSQL) migrated");
        }
        Ok(store)
    }

    /// Runs `f` with the connection (made, or made again when the server closed it), off
    /// any async runtime.
    fn with<T: Send>(&self, f: impl FnOnce(&mut Client) -> Result<T> + Send) -> Result<T> {
        off_runtime(|| {
            let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
            if guard.as_ref().is_none_or(Client::is_closed) {
                *guard = Some(Client::connect(&self.url, NoTls)?);
            }
            let client = guard.as_mut().expect("connected above");
            f(client)
        })
    }

    /// Runs `f` in one transaction.
    fn tx<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn execute(&self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<u64> {
        self.with(|c| Ok(c.execute(sql, params)?))
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        self.with(|c| Ok(c.query(sql, params)?))
    }

    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<Row>> {
        self.with(|c| Ok(c.query_opt(sql, params)?))
    }
}

impl MetadataStore for PgStore {
    fn create_execution(&self, e: &ExecutionRecord) -> Result<()> {
        self.execute(
            &format!("INSERT INTO executions ({EXEC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
            &[
                &e.id, &e.pipeline, &e.status.as_str(), &js(&e.parameters), &js(&e.definition), &e.code_version,
                &e.trigger, &i64::from(e.pid), &e.started_at, &e.ended_at, &e.failure_reason, &e.manifest.as_ref().map(js),
            ],
        )?;
        Ok(())
    }

    fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>> {
        // A unique prefix is enough.
        let found = rows(
            self.query(
                &format!("SELECT {EXEC_COLS} FROM executions WHERE id = $1 OR id LIKE $2 ORDER BY id = $1 DESC LIMIT 2"),
                &[&id, &format!("{id}%")],
            )?,
            exec_row,
        )?;
        Ok(match found.as_slice() {
            [one] => Some(one.clone()),
            [first, _] if first.id == id => Some(first.clone()),
            _ => None,
        })
    }

    fn executions_page(&self, offset: usize, limit: usize) -> Result<Page<ExecutionRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (total, items) = self.tx(|t| {
            let total: i64 = t.query_one("SELECT COUNT(*) FROM executions", &[])?.get(0);
            let items = t.query(
                &format!("SELECT {EXEC_COLS} FROM executions ORDER BY started_at DESC, seq DESC LIMIT $1 OFFSET $2"),
                &[&limit, &offset],
            )?;
            Ok((total, items))
        })?;
        Ok(Page {
            items: rows(items, exec_row)?,
            total: usize::try_from(total).unwrap_or(0),
        })
    }

    fn set_execution_status(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE executions SET status = $2, failure_reason = $3, pid = $4, ended_at = NULL WHERE id = $1",
            &[&id, &status.as_str(), &reason, &i64::from(std::process::id())],
        )?;
        Ok(())
    }

    fn finish_execution(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
        manifest: &Value,
    ) -> Result<()> {
        self.execute(
            "UPDATE executions SET status = $2, failure_reason = $3, ended_at = $4, manifest = $5 WHERE id = $1",
            &[&id, &status.as_str(), &reason, &now(), &js(manifest)],
        )?;
        Ok(())
    }

    fn insert_step(&self, s: &StepRecord) -> Result<i64> {
        let row = self.with(|c| {
            Ok(c.query_one(
                "INSERT INTO step_runs (execution_id, step, kind, status, cache_key, key_parts, cache_decision, cached_from, outputs, properties, started_at, ended_at, duration_s, log_excerpt, failure_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                &[
                    &s.execution_id, &s.step, &s.kind, &s.status.as_str(), &s.cache_key, &s.key_parts.as_ref().map(js),
                    &s.cache_decision, &s.cached_from, &js(&s.outputs), &js(&s.properties), &s.started_at, &s.ended_at,
                    &s.duration_s, &s.log_excerpt, &s.failure_reason,
                ],
            )?)
        })?;
        Ok(row.get(0))
    }

    fn finish_step(&self, s: &StepRecord) -> Result<()> {
        self.execute(
            "UPDATE step_runs SET status = $2, outputs = $3, properties = $4, ended_at = $5, duration_s = $6, log_excerpt = $7, failure_reason = $8, cache_decision = $9 WHERE id = $1",
            &[
                &s.id, &s.status.as_str(), &js(&s.outputs), &js(&s.properties), &s.ended_at, &s.duration_s,
                &s.log_excerpt, &s.failure_reason, &s.cache_decision,
            ],
        )?;
        Ok(())
    }

    fn steps(&self, execution_id: &str) -> Result<Vec<StepRecord>> {
        rows(
            self.query(
                &format!(
                    "SELECT {STEP_COLS} FROM step_runs s WHERE s.execution_id = $1 ORDER BY s.id"
                ),
                &[&execution_id],
            )?,
            step_row,
        )
    }

    fn cache_hit(&self, cache_key: &str) -> Result<Option<StepRecord>> {
        self.query_opt(
            &format!("SELECT {STEP_COLS} FROM step_runs s WHERE s.cache_key = $1 AND s.status = 'Succeeded' ORDER BY s.id DESC LIMIT 1"),
            &[&cache_key],
        )?
        .as_ref()
        .map(step_row)
        .transpose()
    }

    fn previous_run(
        &self,
        pipeline: &str,
        step: &str,
        before_execution: &str,
    ) -> Result<Option<StepRecord>> {
        self.query_opt(
            &format!(
                "SELECT {STEP_COLS} FROM step_runs s JOIN executions e ON e.id = s.execution_id
                 WHERE e.pipeline = $1 AND s.step = $2 AND s.execution_id != $3 AND s.status IN ('Succeeded', 'Cached')
                 ORDER BY s.id DESC LIMIT 1"
            ),
            &[&pipeline, &step, &before_execution],
        )?
        .as_ref()
        .map(step_row)
        .transpose()
    }

    fn record_artifact(&self, a: &ArtifactRecord) -> Result<()> {
        self.execute(
            "INSERT INTO artifacts (digest, step, output, execution_id, parents, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING",
            &[&a.digest, &a.step, &a.output, &a.execution_id, &js(&a.parents), &a.created_at],
        )?;
        Ok(())
    }

    fn artifact(&self, digest: &str) -> Result<Option<ArtifactRecord>> {
        self.query_opt(
            "SELECT digest, step, output, execution_id, parents, created_at FROM artifacts WHERE digest = $1",
            &[&digest],
        )?
        .as_ref()
        .map(artifact_row)
        .transpose()
    }

    fn register_version(&self, v: &NewVersion) -> Result<(ModelVersion, bool)> {
        let created = self.tx(|t| {
            // Registrations wait for each other (numbers are max + 1 per group); readers do not.
            t.batch_execute("LOCK TABLE model_versions IN SHARE ROW EXCLUSIVE MODE")?;
            if t.query_opt("SELECT 1 FROM model_versions WHERE version = $1", &[&v.version])?.is_some() {
                return Ok(false);
            }
            let number: i64 = t
                .query_one("SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions WHERE grp = $1", &[&v.group])?
                .get(0);
            t.execute(
                &format!("INSERT INTO model_versions ({VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                &[&v.version, &v.group, &number, &v.artifact_digest, &v.status.as_str(), &js(&v.metrics), &js(&v.lineage), &v.execution_id, &now()],
            )?;
            let note = format!("execution {}", v.execution_id);
            insert_event(t, &event(v.group.clone(), &v.version, "registered", None, v.status, &v.actor, note))?;
            Ok(true)
        })?;
        let mv = self
            .version(&v.version)?
            .ok_or_else(|| PipelineError::NotFound {
                what: "model version",
                id: v.version.clone(),
            })?;
        Ok((mv, created))
    }

    fn version(&self, id: &str) -> Result<Option<ModelVersion>> {
        let by_number = id
            .rsplit_once('/')
            .and_then(|(g, n)| Some((g, n.parse::<i64>().ok()?)));
        let row = match by_number {
            Some((group, n)) => self.query_opt(
                &format!(
                    "SELECT {VERSION_COLS} FROM model_versions WHERE grp = $1 AND number = $2"
                ),
                &[&group, &n],
            )?,
            None => self.query_opt(
                &format!("SELECT {VERSION_COLS} FROM model_versions WHERE version = $1"),
                &[&id],
            )?,
        };
        row.as_ref().map(version_row).transpose()
    }

    fn versions(&self, group: Option<&str>) -> Result<Vec<ModelVersion>> {
        rows(
            self.query(
                &format!("SELECT {VERSION_COLS} FROM model_versions WHERE $1::TEXT IS NULL OR grp = $1 ORDER BY grp, number"),
                &[&group],
            )?,
            version_row,
        )
    }

    fn transition(
        &self,
        version: &str,
        from: ApprovalStatus,
        to: ApprovalStatus,
        actor: &str,
        note: &str,
    ) -> Result<bool> {
        self.tx(|t| {
            let Some(row) = t.query_opt(
                "UPDATE model_versions SET status = $3 WHERE version = $1 AND status = $2 RETURNING grp",
                &[&version, &from.as_str(), &to.as_str()],
            )?
            else {
                return Ok(false);
            };
            let name = match to {
                ApprovalStatus::Approved => "approved",
                ApprovalStatus::Rejected => "rejected",
                ApprovalStatus::PendingManualApproval => "pending",
            };
            insert_event(t, &event(row.get(0), version, name, Some(from), to, actor, note.to_string()))?;
            Ok(true)
        })
    }

    fn add_event(&self, e: &RegistryEvent) -> Result<()> {
        self.with(|c| insert_event(c, e))
    }

    fn record_endpoint(&self, e: &EndpointRecord) -> Result<()> {
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        self.execute(
            "INSERT INTO endpoints (name, url, pid, started_at, stopped_at, management, capture_dir, state_dir, monitor_dir)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (name) DO UPDATE SET url = $2, pid = $3, started_at = $4, stopped_at = $5,
               management = $6, capture_dir = $7, state_dir = $8, monitor_dir = $9",
            &[
                &e.name, &e.url, &i64::from(e.pid), &e.started_at, &e.stopped_at, &e.management,
                &path(&e.capture_dir), &path(&e.state_dir), &path(&e.monitor_dir),
            ],
        )?;
        Ok(())
    }

    fn endpoint_stopped(&self, name: &str, url: &str) -> Result<()> {
        self.execute(
            "UPDATE endpoints SET stopped_at = $3 WHERE name = $1 AND url = $2",
            &[&name, &url, &now()],
        )?;
        Ok(())
    }

    fn endpoints(&self) -> Result<Vec<EndpointRecord>> {
        rows(
            self.query(
                "SELECT name, url, pid, started_at, stopped_at, management, capture_dir, state_dir, monitor_dir FROM endpoints ORDER BY name",
                &[],
            )?,
            |r| {
                let path = |i: usize| r.get::<_, Option<String>>(i).map(std::path::PathBuf::from);
                Ok(EndpointRecord {
                    name: r.get(0),
                    url: r.get(1),
                    pid: u32::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                    started_at: r.get(3),
                    stopped_at: r.get(4),
                    management: r.get(5),
                    capture_dir: path(6),
                    state_dir: path(7),
                    monitor_dir: path(8),
                })
            },
        )
    }

    fn events(&self, group: Option<&str>, until: Option<&str>) -> Result<Vec<RegistryEvent>> {
        rows(
            self.query(
                "SELECT id, at, grp, version, event, from_status, to_status, actor, note, endpoint, variant FROM registry_events
                 WHERE ($1::TEXT IS NULL OR grp = $1) AND ($2::TEXT IS NULL OR at <= $2) ORDER BY id",
                &[&group, &until],
            )?,
            event_row,
        )
    }
}
