use std::path::{Path, PathBuf};

/// Everything that can go wrong reading, checking or writing the loop's files. Each error
/// names the file or value that caused it, once.
#[derive(Debug, thiserror::Error)]
pub enum MonitoringError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("baseline: {0}")]
    Baseline(String),
    #[error("model: {0}")]
    Model(String),
    #[error("experiment {0:?} not found")]
    ExperimentNotFound(String),
    #[error("experiment {0:?} exists")]
    ExperimentExists(String),
    #[error("invalid experiment: {0}")]
    InvalidExperiment(String),
    #[error("invalid feedback: {0}")]
    InvalidFeedback(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl MonitoringError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        MonitoringError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn json(path: &Path, source: serde_json::Error) -> Self {
        MonitoringError::Json {
            path: path.to_path_buf(),
            source,
        }
    }
}
