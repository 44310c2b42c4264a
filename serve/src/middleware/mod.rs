//! The front proxy's middleware and, in `stack`, the one place their order is written.
pub mod access_log;
pub mod body_read;
pub mod drain;
pub mod http_metrics;
pub mod internal_error;
pub mod log_budget;
pub mod shed;
pub mod stack;
pub mod timeout;

pub use crate::http::BoxFuture;
