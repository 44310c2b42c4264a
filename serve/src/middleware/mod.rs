//! The front proxy's middleware and, in `stack`, the one place their order is written.
pub mod access_log;
pub mod body_limit;
pub mod http_metrics;
pub mod shed;
pub mod stack;
pub mod timeout;

pub use crate::http::BoxFuture;
