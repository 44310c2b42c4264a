use std::path::PathBuf;

/// Errors of the train crate. Every message names the file, column and numbers involved.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty (no header and no rows)")]
    EmptyFile { path: PathBuf },
    #[error("{path} has no data rows")]
    NoRows { path: PathBuf },
    #[error("{path}, line {line}: the bytes are not valid UTF-8")]
    NotUtf8 { path: PathBuf, line: u64 },
    #[error("{path}, line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: column {column:?} not found (columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: column {column:?} has {count} value(s) that are not valid labels: {examples} (first at line {first_line}){hint}")]
    UnknownLabels {
        path: PathBuf,
        column: String,
        count: usize,
        examples: String,
        first_line: u64,
        hint: String,
    },
    #[error("{path}: cannot tell the format from the extension; use .csv, .jsonl or .json (optionally .gz)")]
    UnknownFormat { path: PathBuf },
    #[error("data validation failed:\n{0}")]
    Validation(String),
    #[error("search space {path}: {message}")]
    Space { path: PathBuf, message: String },
    #[error("tuning: {0}")]
    Tune(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("torch error: {0}")]
    Torch(#[from] tch::TchError),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;
