//! Sentio's real-time endpoint: a hyper + tower front proxy
//! implementing the SageMaker inference contract (`/ping`, `/invocations`) and a native
//! `/v1` API over 1–10 production variants, each a dynamically batched in-process model or
//! a remote `sentio serve --worker`; a bearer-token management API with atomic model
//! swaps; Prometheus metrics; data capture, shadow traffic, ground truth and the
//! in-process drift schedule; graceful shutdown.
//!
//! Entry point: [`run`] (a typed [`ServeConfig`], a bound listener and a shutdown future).
//! Registry lookups, retraining and batch transform jobs reach this crate as small traits
//! ([`ModelCatalog`], [`Retrainer`], [`TransformJobs`]); file formats of the monitoring
//! loop come from the `monitoring` crate. [`Batcher`] is reusable on its own (the
//! `transform` crate runs its jobs on it).
#![forbid(unsafe_code)]

pub mod batcher;
pub mod capture;
pub mod catalog;
pub mod client;
pub mod codec;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod feedback;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod middleware;
pub mod reports;
mod routes;
pub mod schedule;
mod served;
mod server;
pub mod shadow;
pub mod telemetry;
pub mod variant;

pub use batcher::{BatchConfig, Batcher, BatcherStats, InferenceBackend, ModelInfo, TokenizerPool};
pub use catalog::{CatalogError, DeploymentRecord, ModelCatalog, PathCatalog, ResolvedModel};
pub use config::ServeConfig;
pub use error::ServeError;
pub use jobs::TransformJobs;
pub use limits::Limits;
pub use schedule::Retrainer;
pub use server::run;
pub use variant::{validate_variant_name, VariantSource, VariantSpec};
