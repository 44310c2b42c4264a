//! The two stores behind small traits, so they can be swapped (object storage for
//! artifacts, PostgreSQL for metadata) without touching the executor or the registry:
//! every component takes `&dyn MetadataStore` / `&dyn ArtifactStore`, and
//! [`crate::Home::open_stores`] is the one place that chooses and opens them: SQLite
//! ([`SqliteStore`]) or PostgreSQL ([`PgStore`]) for metadata, a local folder
//! ([`FsArtifactStore`]) or S3-compatible object storage ([`S3ArtifactStore`], with the
//! folder as its cache) for artifacts, as the home's [`StoreConfig`] says.
mod artifacts;
mod blocking;
mod config;
mod migrations;
mod postgres;
mod records;
mod s3;
mod sqlite;
mod sqlite_console;

pub use artifacts::{tree_digest, ArtifactStore, FsArtifactStore};
pub use config::{redact_url, StoreConfig};
pub use postgres::PgStore;
pub use records::*;
pub use s3::S3ArtifactStore;
pub use sqlite::SqliteStore;

use crate::error::Result;
use std::sync::Arc;

/// The stores of a Sentio home, opened once ([`crate::Home::open_stores`]) and shared;
/// cloning shares them.
#[derive(Clone)]
pub struct Stores {
    pub metadata: Arc<dyn MetadataStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// Executions, step runs, artifacts, model versions and registry history. Shared by the
/// threads that run steps, hence `Send + Sync`.
pub trait MetadataStore: Send + Sync {
    fn create_execution(&self, e: &ExecutionRecord) -> Result<()>;
    fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>>;
    /// Newest first.
    fn executions(&self, limit: usize) -> Result<Vec<ExecutionRecord>> {
        Ok(self.executions_page(0, limit)?.items)
    }
    /// `limit` executions from `offset` on, newest first, and how many there are.
    fn executions_page(&self, offset: usize, limit: usize) -> Result<Page<ExecutionRecord>>;
    fn set_execution_status(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
    ) -> Result<()>;
    fn finish_execution(
        &self,
        id: &str,
        status: ExecutionStatus,
        reason: Option<&str>,
        manifest: &serde_json::Value,
    ) -> Result<()>;

    /// Inserts a step run (any status) and returns its id.
    fn insert_step(&self, s: &StepRecord) -> Result<i64>;
    /// Completes a step run that was inserted as Executing.
    fn finish_step(&self, s: &StepRecord) -> Result<()>;
    /// Every step run of an execution, oldest first.
    fn steps(&self, execution_id: &str) -> Result<Vec<StepRecord>>;
    /// The newest Succeeded run with this cache key.
    fn cache_hit(&self, cache_key: &str) -> Result<Option<StepRecord>>;
    /// The newest Succeeded or Cached run of a step of a pipeline (to explain a miss).
    fn previous_run(
        &self,
        pipeline: &str,
        step: &str,
        before_execution: &str,
    ) -> Result<Option<StepRecord>>;

    fn record_artifact(&self, a: &ArtifactRecord) -> Result<()>;
    fn artifact(&self, digest: &str) -> Result<Option<ArtifactRecord>>;

    /// Registers a version (idempotent: an existing version is returned unchanged).
    fn register_version(&self, v: &NewVersion) -> Result<(ModelVersion, bool)>;
    /// By version id (`sha256-…`) or `group/number`.
    fn version(&self, id: &str) -> Result<Option<ModelVersion>>;
    fn versions(&self, group: Option<&str>) -> Result<Vec<ModelVersion>>;
    /// Changes a version's status if it is still `from`, with its history event, atomically.
    fn transition(
        &self,
        version: &str,
        from: ApprovalStatus,
        to: ApprovalStatus,
        actor: &str,
        note: &str,
    ) -> Result<bool>;
    fn add_event(&self, e: &RegistryEvent) -> Result<()>;

    /// Records a started endpoint (replacing an earlier record of the same name).
    fn record_endpoint(&self, e: &EndpointRecord) -> Result<()>;
    /// Marks the endpoint `name` stopped, if its record is still the one listening on `url`.
    fn endpoint_stopped(&self, name: &str, url: &str) -> Result<()>;
    /// Every recorded endpoint, by name.
    fn endpoints(&self) -> Result<Vec<EndpointRecord>>;
    /// History of a group (all groups when None) up to and including `until`, oldest first.
    fn events(&self, group: Option<&str>, until: Option<&str>) -> Result<Vec<RegistryEvent>>;
}
