//! Sentio pipelines: definitions with typed parameters, a DAG executor with explained step
//! caching, a content-addressed artifact store, a SQLite metadata store (executions,
//! lineage, model registry, deployment history) and triggers.
#![forbid(unsafe_code)]

pub mod cache;
pub mod cli;
pub mod condition;
pub mod dag;
pub mod definition;
pub mod demo;
pub mod error;
pub mod executor;
pub mod home;
pub mod lineage;
pub mod params;
pub mod registry;
pub mod steps;
pub mod store;
pub mod trigger;

pub use cache::CachePolicy;
pub use definition::{PipelineDef, DEFAULT_PIPELINE};
pub use demo::{run_default_pipeline, DefaultRun};
pub use error::{PipelineError, Result};
pub use executor::{execute, resume, ExecutionSummary, ExecutorConfig, RunRequest, StepSummary};
pub use home::{CodeVersion, Home};
pub use params::{ParamType, ParamValue};
pub use registry::{record_deployment, resolve_for_deployment, Registry, RegistryState};
pub use store::{ApprovalStatus, ExecutionStatus, ModelVersion, StepStatus};
pub use trigger::{trigger, watch, PipelineSource, WatchConfig};
