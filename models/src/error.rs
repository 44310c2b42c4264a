use std::path::PathBuf;

/// Errors of the models crate: loading, verifying and running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
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
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("torch error: {0}")]
    Torch(#[from] tch::TchError),
    #[error("model {path} not found (no artifact directory there)")]
    NotFound { path: PathBuf },
    #[error("artifact {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("artifact {path} does not match: {reason}")]
    Mismatch { path: PathBuf, reason: String },
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("CUDA was requested but tch sees no CUDA device")]
    CudaUnavailable,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("the model produced non-finite output (NaN or infinity) for this input")]
    NonFinite,
    #[error("empty batch")]
    EmptyBatch,
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        ModelError::Json {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
