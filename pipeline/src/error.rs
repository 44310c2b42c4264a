use std::path::PathBuf;

/// Errors of the pipeline crate. Messages name the step, parameter, file or version
/// involved so the CLI can print them as they are.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("invalid pipeline definition: {0}")]
    Definition(String),
    #[error("unknown parameter {name:?}; this pipeline has: {known}")]
    UnknownParameter { name: String, known: String },
    #[error("parameter {name:?}: {message}")]
    Parameter { name: String, message: String },
    #[error("step {step:?}: {message}")]
    StepConfig { step: String, message: String },
    #[error("step {step:?} failed: {message}")]
    StepFailed { step: String, message: String },
    #[error("execution {id} failed: {reason}")]
    ExecutionFailed { id: String, reason: String },
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("model version {version} is {from}; it cannot become {to} ({why})")]
    IllegalTransition {
        version: String,
        from: String,
        to: String,
        why: String,
    },
    #[error("model version {version} is {status}: only Approved versions can be deployed (force to override)")]
    NotApproved { version: String, status: String },
    #[error("cannot resume execution {id}: {reason}")]
    Resume { id: String, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid TOML in {path}: {source}")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("metadata store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("metadata store (PostgreSQL): {0}")]
    Postgres(#[from] postgres::Error),
    #[error("schema migration: {0}")]
    Migration(#[from] refinery::Error),
    #[error("artifact store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("store configuration: {0}")]
    StoreConfig(String),
    #[error("artifact {digest}: downloaded content has digest {got}; the store's copy is corrupt or was changed")]
    DigestMismatch { digest: String, got: String },
    #[error(transparent)]
    Train(#[from] train::TrainError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
}

impl PipelineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PipelineError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        PipelineError::Json {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn step(step: &str, message: impl Into<String>) -> Self {
        PipelineError::StepConfig {
            step: step.to_string(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
