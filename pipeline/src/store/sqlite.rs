//! The metadata store on SQLite: WAL mode and a busy timeout so several processes can
//! run executions at once; every change is one transaction, so `kill -9` leaves the
//! store consistent (at worst an execution stays Executing; `resume` continues it). The
//! schema comes from the versioned migrations (`super::migrations`).
use super::records::*;
use super::{sqlite_console as console, MetadataStore};
use crate::error::{PipelineError, Result};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One connection to `sentio.db`, shared by the threads of a process (each call holds
/// it for one statement or one transaction); other processes open their own.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn js(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn parse_json(s: Option<String>) -> Value {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn parse_enum<T: std::str::FromStr<Err = String>>(idx: usize, s: String) -> rusqlite::Result<T> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

const EXEC_COLS: &str = "id, pipeline, status, parameters, definition, code_version, trigger, pid, started_at, ended_at, failure_reason, manifest";

fn exec_row(r: &Row) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: r.get(0)?,
        pipeline: r.get(1)?,
        status: parse_enum(2, r.get(2)?)?,
        parameters: parse_json(r.get(3)?),
        definition: parse_json(r.get(4)?),
        code_version: r.get(5)?,
        trigger: r.get(6)?,
        pid: r.get(7)?,
        started_at: r.get(8)?,
        ended_at: r.get(9)?,
        failure_reason: r.get(10)?,
        manifest: r.get::<_, Option<String>>(11)?.map(|s| parse_json(Some(s))),
    })
}

const STEP_COLS: &str = "id, execution_id, step, kind, status, cache_key, key_parts, cache_decision, cached_from, outputs, properties, started_at, ended_at, duration_s, log_excerpt, failure_reason";

fn step_row(r: &Row) -> rusqlite::Result<StepRecord> {
    Ok(StepRecord {
        id: r.get(0)?,
        execution_id: r.get(1)?,
        step: r.get(2)?,
        kind: r.get(3)?,
        status: parse_enum(4, r.get(4)?)?,
        cache_key: r.get(5)?,
        key_parts: r.get::<_, Option<String>>(6)?.map(|s| parse_json(Some(s))),
        cache_decision: r.get(7)?,
        cached_from: r.get(8)?,
        outputs: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
        properties: parse_json(r.get(10)?),
        started_at: r.get(11)?,
        ended_at: r.get(12)?,
        duration_s: r.get(13)?,
        log_excerpt: r.get(14)?,
        failure_reason: r.get(15)?,
    })
}

const VERSION_COLS: &str =
    "version, grp, number, artifact_digest, status, metrics, lineage, execution_id, created_at";

fn version_row(r: &Row) -> rusqlite::Result<ModelVersion> {
    Ok(ModelVersion {
        version: r.get(0)?,
        group: r.get(1)?,
        number: r.get(2)?,
        artifact_digest: r.get(3)?,
        status: parse_enum(4, r.get(4)?)?,
        metrics: parse_json(r.get(5)?),
        lineage: parse_json(r.get(6)?),
        execution_id: r.get(7)?,
        created_at: r.get(8)?,
    })
}

fn event_row(r: &Row) -> rusqlite::Result<RegistryEvent> {
    Ok(RegistryEvent {
        id: r.get(0)?,
        at: r.get(1)?,
        group: r.get(2)?,
        version: r.get(3)?,
        event: r.get(4)?,
        from_status: r.get(5)?,
        to_status: r.get(6)?,
        actor: r.get(7)?,
        note: r.get(8)?,
        endpoint: r.get(9)?,
        variant: r.get(10)?,
    })
}

fn insert_event(conn: &Connection, e: &RegistryEvent) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO registry_events (at, grp, version, event, from_status, to_status, actor, note, endpoint, variant) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![e.at, e.group, e.version, e.event, e.from_status, e.to_status, e.actor, e.note, e.endpoint, e.variant],
    )?;
    Ok(())
}

/// How long a writer waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Switches the database to WAL. The switch needs the database to itself, and SQLite
/// answers SQLITE_BUSY at once, without calling the busy handler, while another connection
/// is opening or switching it (two `sentio pipeline run`s on a fresh home), so a busy
/// answer is retried with a growing pause for up to [`BUSY_TIMEOUT`].
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other.map(|_| ()),
        }
    }
}

impl SqliteStore {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| PipelineError::io(parent, e))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        wal_mode(&conn)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
        };
        let applied = super::migrations::sqlite(&store.conn())?;
        if !applied.is_empty() {
            tracing::info!(?applied, path = %path.display(), "metadata store migrated");
        }
        Ok(store)
    }

    /// The connection (a panic elsewhere while holding it leaves no transaction open:
    /// rusqlite rolls back on drop).
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in an IMMEDIATE transaction (takes the write lock up front, so concurrent
    /// writers wait on the busy timeout instead of failing).
    fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn();
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl MetadataStore for SqliteStore {
    fn create_execution(&self, e: &ExecutionRecord) -> Result<()> {
        self.write(|c| {
            c.execute(
                &format!("INSERT INTO executions ({EXEC_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    e.id, e.pipeline, e.status.as_str(), js(&e.parameters), js(&e.definition), e.code_version,
                    e.trigger, e.pid, e.started_at, e.ended_at, e.failure_reason, e.manifest.as_ref().map(js)
                ],
            )
        })?;
        Ok(())
    }

    fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>> {
        // A unique prefix is enough.
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EXEC_COLS} FROM executions WHERE id = ?1 OR id LIKE ?2 ORDER BY id = ?1 DESC LIMIT 2"
        ))?;
        let rows: Vec<ExecutionRecord> = stmt
            .query_map(params![id, format!("{id}%")], exec_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(match rows.as_slice() {
            [one] => Some(one.clone()),
            [first, _] if first.id == id => Some(first.clone()),
            _ => None,
        })
    }

    fn executions_page(&self, offset: usize, limit: usize) -> Result<Page<ExecutionRecord>> {
        let conn = self.conn();
        Ok(console::executions_page(
            &conn, EXEC_COLS, exec_row, offset, limit,
        )?)
    }

    fn set_execution_status(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
    ) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE executions SET status = ?2, failure_reason = ?3, pid = ?4, ended_at = NULL WHERE id = ?1",
                params![id, status.as_str(), reason, std::process::id()],
            )
        })?;
        Ok(())
    }

    fn finish_execution(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
        manifest: &Value,
    ) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE executions SET status = ?2, failure_reason = ?3, ended_at = ?4, manifest = ?5 WHERE id = ?1",
                params![id, status.as_str(), reason, now(), js(manifest)],
            )
        })?;
        Ok(())
    }

    fn insert_step(&self, s: &StepRecord) -> Result<i64> {
        self.write(|c| {
            c.execute(
                "INSERT INTO step_runs (execution_id, step, kind, status, cache_key, key_parts, cache_decision, cached_from, outputs, properties, started_at, ended_at, duration_s, log_excerpt, failure_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    s.execution_id, s.step, s.kind, s.status.as_str(), s.cache_key, s.key_parts.as_ref().map(js),
                    s.cache_decision, s.cached_from, js(&s.outputs), js(&s.properties), s.started_at, s.ended_at,
                    s.duration_s, s.log_excerpt, s.failure_reason
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    fn finish_step(&self, s: &StepRecord) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE step_runs SET status = ?2, outputs = ?3, properties = ?4, ended_at = ?5, duration_s = ?6, log_excerpt = ?7, failure_reason = ?8, cache_decision = ?9 WHERE id = ?1",
                params![
                    s.id, s.status.as_str(), js(&s.outputs), js(&s.properties), s.ended_at, s.duration_s,
                    s.log_excerpt, s.failure_reason, s.cache_decision
                ],
            )
        })?;
        Ok(())
    }

    fn steps(&self, execution_id: &str) -> Result<Vec<StepRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {STEP_COLS} FROM step_runs WHERE execution_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map(params![execution_id], step_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn cache_hit(&self, cache_key: &str) -> Result<Option<StepRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {STEP_COLS} FROM step_runs WHERE cache_key = ?1 AND status = 'Succeeded' ORDER BY id DESC LIMIT 1"),
                params![cache_key],
                step_row,
            )
            .optional()?)
    }

    fn previous_run(
        &self,
        pipeline: &str,
        step: &str,
        before_execution: &str,
    ) -> Result<Option<StepRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {} FROM step_runs s JOIN executions e ON e.id = s.execution_id
                     WHERE e.pipeline = ?1 AND s.step = ?2 AND s.execution_id != ?3 AND s.status IN ('Succeeded', 'Cached')
                     ORDER BY s.id DESC LIMIT 1",
                    STEP_COLS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
                ),
                params![pipeline, step, before_execution],
                step_row,
            )
            .optional()?)
    }

    fn record_artifact(&self, a: &ArtifactRecord) -> Result<()> {
        self.write(|c| {
            c.execute(
                "INSERT OR IGNORE INTO artifacts (digest, step, output, execution_id, parents, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![a.digest, a.step, a.output, a.execution_id, js(&a.parents), a.created_at],
            )
        })?;
        Ok(())
    }

    fn artifact(&self, digest: &str) -> Result<Option<ArtifactRecord>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT digest, step, output, execution_id, parents, created_at FROM artifacts WHERE digest = ?1",
                params![digest],
                |r| {
                    Ok(ArtifactRecord {
                        digest: r.get(0)?,
                        step: r.get(1)?,
                        output: r.get(2)?,
                        execution_id: r.get(3)?,
                        parents: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                        created_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    fn register_version(&self, v: &NewVersion) -> Result<(ModelVersion, bool)> {
        let created = self.write(|c| {
            let exists: Option<String> = c
                .query_row("SELECT version FROM model_versions WHERE version = ?1", params![v.version], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Ok(false);
            }
            let number: i64 = c.query_row(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions WHERE grp = ?1",
                params![v.group],
                |r| r.get(0),
            )?;
            let at = now();
            c.execute(
                &format!("INSERT INTO model_versions ({VERSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![v.version, v.group, number, v.artifact_digest, v.status.as_str(), js(&v.metrics), js(&v.lineage), v.execution_id, at],
            )?;
            insert_event(
                c,
                &RegistryEvent {
                    id: 0,
                    at,
                    group: v.group.clone(),
                    version: v.version.clone(),
                    event: "registered".into(),
                    from_status: None,
                    to_status: Some(v.status.as_str().into()),
                    actor: v.actor.clone(),
                    note: format!("execution {}", v.execution_id),
                    endpoint: None,
                    variant: None,
                },
            )?;
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
        if let Some((group, n)) = id.rsplit_once('/') {
            if let Ok(n) = n.parse::<i64>() {
                return Ok(self
                    .conn()
                    .query_row(
                        &format!("SELECT {VERSION_COLS} FROM model_versions WHERE grp = ?1 AND number = ?2"),
                        params![group, n],
                        version_row,
                    )
                    .optional()?);
            }
        }
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {VERSION_COLS} FROM model_versions WHERE version = ?1"),
                params![id],
                version_row,
            )
            .optional()?)
    }

    fn versions(&self, group: Option<&str>) -> Result<Vec<ModelVersion>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {VERSION_COLS} FROM model_versions WHERE ?1 IS NULL OR grp = ?1 ORDER BY grp, number"
        ))?;
        let rows = stmt
            .query_map(params![group], version_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn transition(
        &self,
        version: &str,
        from: ApprovalStatus,
        to: ApprovalStatus,
        actor: &str,
        note: &str,
    ) -> Result<bool> {
        self.write(|c| {
            let group: Option<String> = c
                .query_row(
                    "SELECT grp FROM model_versions WHERE version = ?1 AND status = ?2",
                    params![version, from.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(group) = group else { return Ok(false) };
            c.execute(
                "UPDATE model_versions SET status = ?2 WHERE version = ?1",
                params![version, to.as_str()],
            )?;
            insert_event(
                c,
                &RegistryEvent {
                    id: 0,
                    at: now(),
                    group,
                    version: version.to_string(),
                    event: match to {
                        ApprovalStatus::Approved => "approved",
                        ApprovalStatus::Rejected => "rejected",
                        ApprovalStatus::PendingManualApproval => "pending",
                    }
                    .into(),
                    from_status: Some(from.as_str().into()),
                    to_status: Some(to.as_str().into()),
                    actor: actor.to_string(),
                    note: note.to_string(),
                    endpoint: None,
                    variant: None,
                },
            )?;
            Ok(true)
        })
    }

    fn record_endpoint(&self, e: &EndpointRecord) -> Result<()> {
        self.write(|c| console::record(c, e))
    }

    fn endpoint_stopped(&self, name: &str, url: &str) -> Result<()> {
        self.write(|c| console::stopped(c, name, url, &now()))
    }

    fn endpoints(&self) -> Result<Vec<EndpointRecord>> {
        Ok(console::all(&self.conn())?)
    }

    fn add_event(&self, e: &RegistryEvent) -> Result<()> {
        self.write(|c| insert_event(c, e))
    }

    fn events(&self, group: Option<&str>, until: Option<&str>) -> Result<Vec<RegistryEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, grp, version, event, from_status, to_status, actor, note, endpoint, variant FROM registry_events
             WHERE (?1 IS NULL OR grp = ?1) AND (?2 IS NULL OR at <= ?2) ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![group, until], event_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes and threads open one fresh store at once (two `pipeline run`s on a new
    /// home): every open succeeds, though only one of them can switch it to WAL.
    #[test]
    fn many_open_a_fresh_store_at_once() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("sentio.db");
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            SqliteStore::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for h in opened {
                    let r = h.join().unwrap();
                    assert!(r.is_ok(), "round {round}: {r:?}");
                }
            });
        }
    }
}
