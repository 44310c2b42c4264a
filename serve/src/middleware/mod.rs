//! The front proxy's middleware and, in `stack`, the one place their order is written.
pub mod access_log;
pub mod body_limit;
pub mod http_metrics;
pub mod shed;
pub mod stack;
pub mod timeout;

use std::future::Future;
use std::pin::Pin;

/// The future of the crate's own middleware (one allocation per request and layer).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
