//! The model registry: model package groups, versions with metrics and lineage, approval
//! (PendingManualApproval → Approved / Rejected, Approved → Rejected to revoke), an
//! append-only history, and the deployment gate that serving calls.
use crate::error::{PipelineError, Result};
use crate::store::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the registry looked like at a moment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegistryState {
    pub at: String,
    /// Version → status at that time.
    pub statuses: BTreeMap<String, ApprovalStatus>,
    /// The most recently approved version still Approved at that time.
    pub latest_approved: Option<String>,
    /// Endpoint/variant → the last deployment event up to that time.
    pub deployments: BTreeMap<String, RegistryEvent>,
}

/// The registry over a metadata store (versions, history) and the artifact store that
/// holds the packages ([`Stores::registry`] makes one for a home's stores).
pub struct Registry<'a> {
    store: &'a dyn MetadataStore,
    artifacts: &'a dyn ArtifactStore,
}

impl Stores {
    /// The model registry over these stores.
    pub fn registry(&self) -> Registry<'_> {
        Registry::new(&*self.metadata, &*self.artifacts)
    }
}

impl<'a> Registry<'a> {
    pub fn new(store: &'a dyn MetadataStore, artifacts: &'a dyn ArtifactStore) -> Self {
        Registry { store, artifacts }
    }

    pub fn list(&self, group: Option<&str>) -> Result<Vec<ModelVersion>> {
        self.store.versions(group)
    }

    /// A version by id (`sha256-…`) or `group/number`.
    pub fn describe(&self, version: &str) -> Result<ModelVersion> {
        self.store
            .version(version)?
            .ok_or_else(|| PipelineError::NotFound {
                what: "model version",
                id: version.to_string(),
            })
    }

    /// The history events of one version, oldest first.
    pub fn version_history(&self, v: &ModelVersion) -> Result<Vec<RegistryEvent>> {
        Ok(self
            .store
            .events(Some(&v.group), None)?
            .into_iter()
            .filter(|e| e.version == v.version)
            .collect())
    }

    /// Where a version's package is stored (a path or a URL; nothing is fetched).
    pub fn artifact_location(&self, v: &ModelVersion) -> String {
        self.artifacts.location(&v.artifact_digest)
    }

    /// The directory of a version's package on this machine (downloaded into the local
    /// cache first when the artifacts are in object storage).
    pub fn artifact_dir(&self, v: &ModelVersion) -> Result<PathBuf> {
        self.artifacts.fetch(&v.artifact_digest)
    }

    pub fn approve(&self, version: &str, actor: &str, note: &str) -> Result<ModelVersion> {
        self.transition(version, ApprovalStatus::Approved, actor, note)
    }

    pub fn reject(&self, version: &str, actor: &str, note: &str) -> Result<ModelVersion> {
        self.transition(version, ApprovalStatus::Rejected, actor, note)
    }

    fn transition(
        &self,
        version: &str,
        to: ApprovalStatus,
        actor: &str,
        note: &str,
    ) -> Result<ModelVersion> {
        let v = self.describe(version)?;
        check_transition(&v, to)?;
        if !self
            .store
            .transition(&v.version, v.status, to, actor, note)?
        {
            let now = self.describe(&v.version)?;
            return Err(PipelineError::IllegalTransition {
                version: v.version,
                from: now.status.to_string(),
                to: to.to_string(),
                why: format!("its status changed to {} meanwhile", now.status),
            });
        }
        tracing::info!(version = %v.version, from = %v.status, %to, actor, note, "approval status changed");
        self.describe(&v.version)
    }

    /// The artifact directory and version id to deploy: the given version (id or
    /// `group/number`) or, without one, the group's most recently approved version.
    /// Versions that are not Approved are refused unless `force`.
    pub fn resolve_for_deployment(
        &self,
        group: &str,
        version: Option<&str>,
        force: bool,
    ) -> Result<(PathBuf, String)> {
        let v = match version {
            Some(id) => {
                let v = self.describe(id)?;
                if v.group != group {
                    return Err(PipelineError::NotFound {
                        what: "model version",
                        id: format!("{id} in group {group} (it belongs to {})", v.group),
                    });
                }
                v
            }
            None => {
                let state = self.state_at(Some(group), None)?;
                let id = state
                    .latest_approved
                    .ok_or_else(|| PipelineError::NotFound {
                        what: "approved model version in group",
                        id: group.to_string(),
                    })?;
                self.describe(&id)?
            }
        };
        if v.status != ApprovalStatus::Approved {
            if !force {
                return Err(PipelineError::NotApproved {
                    version: v.version,
                    status: v.status.to_string(),
                });
            }
            tracing::warn!(version = %v.version, status = %v.status, "deploying a version that is not Approved (forced)");
        }
        if !self.artifacts.contains(&v.artifact_digest)? {
            return Err(PipelineError::NotFound {
                what: "artifact directory",
                id: self.artifact_location(&v),
            });
        }
        let dir = self.artifact_dir(&v)?;
        Ok((dir, v.version))
    }

    /// Appends a deployment to the history.
    pub fn record_deployment(
        &self,
        endpoint: &str,
        variant: &str,
        version: &str,
        forced: bool,
    ) -> Result<()> {
        let note = if forced { "forced" } else { "" };
        self.record_endpoint_event("deployed", endpoint, variant, version, note)
    }

    /// Appends what happened to a version on an endpoint's variant: `deployed`, `canary`
    /// (tried beside the live variant), `promoted` (made live), `weights`, `retired`
    /// (removed from the variant).
    pub fn record_endpoint_event(
        &self,
        event: &str,
        endpoint: &str,
        variant: &str,
        version: &str,
        note: &str,
    ) -> Result<()> {
        let v = self.describe(version)?;
        self.store.add_event(&RegistryEvent {
            id: 0,
            at: now(),
            group: v.group,
            version: v.version,
            event: event.into(),
            from_status: None,
            to_status: Some(v.status.to_string()),
            actor: "serve".into(),
            note: note.into(),
            endpoint: Some(endpoint.to_string()),
            variant: Some(variant.to_string()),
        })
    }

    /// The history (oldest first) of a group, or of all groups.
    pub fn history(&self, group: Option<&str>, until: Option<&str>) -> Result<Vec<RegistryEvent>> {
        self.store.events(group, until)
    }

    /// Which versions were approved and which were deployed at time `at` (RFC 3339; now
    /// when None), replayed from the append-only history.
    pub fn state_at(&self, group: Option<&str>, at: Option<&str>) -> Result<RegistryState> {
        let at = match at {
            Some(t) => normalize_time(t)?,
            None => now(),
        };
        let mut statuses = BTreeMap::new();
        let mut approved_at: BTreeMap<String, i64> = BTreeMap::new();
        let mut deployments = BTreeMap::new();
        for e in self.store.events(group, Some(&at))? {
            let key = format!(
                "{}/{}",
                e.endpoint.clone().unwrap_or_default(),
                e.variant.clone().unwrap_or_default()
            );
            match e.event.as_str() {
                "deployed" | "canary" | "promoted" => {
                    deployments.insert(key, e);
                    continue;
                }
                "retired" => {
                    if deployments
                        .get(&key)
                        .is_some_and(|d| d.version == e.version)
                    {
                        deployments.remove(&key);
                    }
                    continue;
                }
                "weights" => continue,
                _ => {}
            }
            if let Some(s) = e
                .to_status
                .as_deref()
                .and_then(|s| s.parse::<ApprovalStatus>().ok())
            {
                statuses.insert(e.version.clone(), s);
                if s == ApprovalStatus::Approved {
                    approved_at.insert(e.version.clone(), e.id);
                }
            }
        }
        let latest_approved = approved_at
            .iter()
            .filter(|(v, _)| statuses.get(*v) == Some(&ApprovalStatus::Approved))
            .max_by_key(|(_, id)| **id)
            .map(|(v, _)| v.clone());
        Ok(RegistryState {
            at,
            statuses,
            latest_approved,
            deployments,
        })
    }
}

/// Allowed: PendingManualApproval → Approved | Rejected; Approved → Rejected (revoke).
fn check_transition(v: &ModelVersion, to: ApprovalStatus) -> Result<()> {
    use ApprovalStatus::*;
    let why = match (v.status, to) {
        (PendingManualApproval, Approved | Rejected) | (Approved, Rejected) => return Ok(()),
        (a, b) if a == b => format!("it is already {a}"),
        (_, PendingManualApproval) => "a decided version cannot go back to pending".to_string(),
        (Rejected, Approved) => {
            "a rejected version stays rejected; train and register a new one".to_string()
        }
        _ => "not an allowed transition".to_string(),
    };
    Err(PipelineError::IllegalTransition {
        version: v.version.clone(),
        from: v.status.to_string(),
        to: to.to_string(),
        why,
    })
}

/// Accepts RFC 3339 (any offset) or `YYYY-MM-DD[ HH:MM[:SS]]` in UTC; returns the
/// store's UTC format.
fn normalize_time(t: &str) -> Result<String> {
    let fmt = "%Y-%m-%dT%H:%M:%S%.3fZ";
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&chrono::Utc).format(fmt).to_string());
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Ok(d.and_utc().format(fmt).to_string());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let end = d.and_hms_milli_opt(23, 59, 59, 999).unwrap_or_default();
        return Ok(end.and_utc().format(fmt).to_string());
    }
    Err(PipelineError::Parameter {
        name: "at".into(),
        message: format!("{t:?} is not a time (use RFC 3339, e.g. 2025-01-31T12:00:00Z)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_normalize() {
        assert_eq!(
            normalize_time("2025-01-31T12:00:00+01:00").unwrap(),
            "2025-01-31T11:00:00.000Z"
        );
        assert_eq!(
            normalize_time("2025-01-31").unwrap(),
            "2025-01-31T23:59:59.999Z"
        );
        assert!(normalize_time("yesterday").is_err());
    }
}
