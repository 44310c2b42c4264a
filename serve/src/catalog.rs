//! Where model references come from and where deployments are recorded. The plain
//! implementation treats a reference as an artifact directory; the registry-backed one
//! (pipeline crate) resolves `name:version` and writes deployment history to SQLite.
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;

/// Errors of a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("model reference {0:?} not found")]
    NotFound(String),
    #[error("model {0:?} is not approved for deployment (pass force to deploy it anyway)")]
    NotApproved(String),
    #[error("catalog error: {0}")]
    Other(String),
}

impl CatalogError {
    /// Whether the caller asked for something the catalog cannot give (vs. a fault of it).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            CatalogError::NotFound(_) | CatalogError::NotApproved(_)
        )
    }
}

/// A reference resolved to a loadable artifact directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedModel {
    pub path: PathBuf,
    /// The registry's version id, when the catalog knows one (the serving model version
    /// itself is always the artifact's content-derived version).
    pub version: Option<String>,
}

/// What happened to which variant, for the deployment history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentRecord {
    pub endpoint: String,
    pub variant: String,
    /// `create`, `deploy`, `add`, `remove`, `weights`.
    pub action: String,
    pub reference: Option<String>,
    pub model_version: Option<String>,
    pub previous_version: Option<String>,
    pub weight: Option<f64>,
    /// `succeeded` or `failed: <reason>`.
    pub outcome: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Resolves model references and records deployments.
pub trait ModelCatalog: Send + Sync + 'static {
    /// Resolves a reference. `force` allows models that are not approved.
    fn resolve(&self, reference: &str, force: bool) -> Result<ResolvedModel, CatalogError>;
    /// Appends to the deployment history.
    fn record_deployment(&self, record: &DeploymentRecord) -> Result<(), CatalogError>;
    /// The history recorded so far, newest last (may be empty for write-only catalogs).
    fn history(&self) -> Vec<DeploymentRecord> {
        Vec::new()
    }
}

/// References are artifact directories; the history is kept in memory (and logged).
#[derive(Debug, Default)]
pub struct PathCatalog {
    history: Mutex<Vec<DeploymentRecord>>,
}

const HISTORY_CAP: usize = 1000;

impl ModelCatalog for PathCatalog {
    fn resolve(&self, reference: &str, _force: bool) -> Result<ResolvedModel, CatalogError> {
        let path = PathBuf::from(reference);
        if !path.is_dir() {
            return Err(CatalogError::NotFound(reference.to_string()));
        }
        Ok(ResolvedModel {
            path,
            version: None,
        })
    }

    fn record_deployment(&self, record: &DeploymentRecord) -> Result<(), CatalogError> {
        tracing::info!(
            endpoint = %record.endpoint,
            variant = %record.variant,
            action = %record.action,
            model_version = record.model_version.as_deref().unwrap_or("-"),
            outcome = %record.outcome,
            "deployment recorded"
        );
        let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if h.len() >= HISTORY_CAP {
            h.remove(0);
        }
        h.push(record.clone());
        Ok(())
    }

    fn history(&self) -> Vec<DeploymentRecord> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_catalog_resolves_directories_only() {
        let dir = tempfile::tempdir().unwrap();
        let c = PathCatalog::default();
        let r = c.resolve(dir.path().to_str().unwrap(), false).unwrap();
        assert_eq!(r.path, dir.path());
        assert!(matches!(
            c.resolve("/no/such/dir", true),
            Err(CatalogError::NotFound(_))
        ));
    }
}
