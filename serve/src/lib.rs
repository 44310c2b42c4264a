//! Sentio's real-time endpoint: a hyper + tower front proxy implementing the SageMaker
//! inference contract (`/ping`, `/invocations`) and a native `/v1` API over 1–10
//! production variants, each a dynamically batched in-process model or a remote
//! `sentio serve --worker`; a bearer-token management API with atomic model swaps;
//! Prometheus metrics; graceful shutdown.
//!
//! Entry points: [`run`] (tests and embedding: a bound listener and a shutdown future) and
//! [`run_cli`] (the `sentio serve` command). [`Batcher`] is reusable on its own.
#![forbid(unsafe_code)]

pub mod batcher;
pub mod capture;
pub mod catalog;
mod cli;
pub mod codec;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod experiment;
pub mod feedback;
pub mod http;
pub mod middleware;
pub mod monitor;
pub mod observe;
mod process;
mod routes;
mod server;
pub mod shadow;
pub mod telemetry;
pub mod transform;
pub mod variant;

pub use batcher::{BatchConfig, Batcher, BatcherStats, InferenceBackend, ModelInfo, TokenizerPool};
pub use catalog::{CatalogError, DeploymentRecord, ModelCatalog, PathCatalog, ResolvedModel};
pub use cli::{run_cli, run_cli_with, ServeArgs};
pub use config::{Limits, Secret, ServeConfig, VariantSource, VariantSpec};
pub use error::ServeError;
pub use experiment::{run_experiment_cli, ExperimentArgs};
pub use monitor::{run_monitor_cli, MonitorArgs, MonitorOutcome};
pub use observe::{ObserveArgs, ObserveConfig};
pub use server::run;
pub use transform::{run_transform_cli, TransformArgs};
