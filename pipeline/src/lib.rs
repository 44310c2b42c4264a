//! Sentio pipelines: definitions with typed parameters and typed step configurations, a
//! DAG executor with explained step caching, the model registry, lineage and triggers.
//!
//! State lives behind two traits, [`store::MetadataStore`] (executions, step runs,
//! lineage, registry, history; SQLite by default, PostgreSQL to share it) and
//! [`store::ArtifactStore`] (content-addressed step outputs; a local folder by default,
//! S3-compatible object storage to share them). Every component takes them as trait
//! objects; [`Home::open_stores`] is the one place that opens them for a Sentio home.
//! Steps also run one process at a time ([`executor::plan`], [`executor::run_step`],
//! [`executor::finish`]) for workflow engines ([`export`]). The code version in every cache key is fixed at build time
//! ([`CodeVersion::current`]). Argument parsing and printing live in the `sentio` binary.
#![forbid(unsafe_code)]

pub mod cache;
pub mod condition;
pub mod dag;
pub mod definition;
pub mod demo;
pub mod describe;
pub mod error;
pub mod executor;
pub mod export;
pub mod home;
pub mod lineage;
pub mod params;
pub mod registry;
pub mod retrain;
pub mod steps;
pub mod store;
pub mod trigger;

pub use cache::CachePolicy;
pub use definition::{PipelineDef, DEFAULT_PIPELINE};
pub use demo::{run_default_pipeline, DefaultRun};
pub use error::{PipelineError, Result};
pub use executor::{
    execute, resume, ExecutionSummary, ExecutorConfig, RunRequest, StepReport, StepSummary,
};
pub use home::{CodeVersion, Home};
pub use params::{ParamType, ParamValue};
pub use registry::{Registry, RegistryState};
pub use retrain::{retrain_from_lineage, RetrainData, RetrainRequest};
pub use store::{
    ApprovalStatus, ArtifactStore, ExecutionStatus, MetadataStore, ModelVersion, StepStatus,
    StoreConfig, Stores,
};
pub use trigger::{retrain, trigger, watch, PipelineSource, WatchConfig};
