//! Batch transform jobs as the routes see them (`POST /transform-jobs`,
//! `GET /transform-jobs/{id}`): a small trait, implemented by the `transform` crate.
use crate::batcher::Batcher;
use crate::error::ServeError;
use serde_json::Value;

/// Batch transform jobs run by a server: implemented by the `transform` crate and wired by
/// the binary (`ServeConfig::transform_jobs`).
pub trait TransformJobs: Send + Sync {
    /// Validates the job (`spec`: the request body less `"Variant"`), starts it on
    /// `batcher` and returns its description as [`describe`](Self::describe) answers it.
    fn start(&self, batcher: Batcher, spec: Value) -> Result<Value, ServeError>;
    /// A job's status, counts and (once done) summary; `NotFound` for an unknown id.
    fn describe(&self, id: &str) -> Result<Value, ServeError>;
}
