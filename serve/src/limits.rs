//! The front proxy's request limits (a leaf: every layer and route reads them).
use std::time::Duration;

/// Request limits of the front proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Request body limit (SageMaker: 6 MiB).
    pub max_body_bytes: usize,
    /// Requests in flight at once; beyond it requests are shed with 429.
    pub max_concurrency: usize,
    /// Most instances (texts) in one request.
    pub max_instances: usize,
    /// Per-request time limit (SageMaker: 60 s).
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
    /// Retry-After seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// Time limit of one call to a remote worker.
    pub upstream_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 6 * 1024 * 1024,
            max_concurrency: 512,
            max_instances: 1000,
            request_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(25),
            retry_after_secs: 1,
            upstream_timeout: Duration::from_secs(55),
        }
    }
}
