//! The crate's one error type.

use std::io;
use std::path::PathBuf;

/// Everything that can stop a load test before or after it runs.
///
/// Failures of individual requests (connect errors, timeouts, broken
/// connections) are not errors: they are counted in the [`crate::Report`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target URL could not be parsed or uses an unsupported scheme.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The target host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },

    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// A header name or value given by the user is not valid HTTP.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader { name: String, reason: String },

    /// The payload file could not be opened or read.
    #[error("cannot read payload file {}: {source}", path.display())]
    PayloadIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The payload CSV file is malformed.
    #[error("payload file {}: {source}", path.display())]
    PayloadCsv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },

    /// The payload CSV file has no column of the requested name.
    #[error("payload file {}: no column {column:?} (columns: {available})", path.display())]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    /// The payload file holds no usable record.
    #[error("payload file {}: no usable records ({skipped} skipped: empty, malformed or missing {field:?})", path.display())]
    NoRecords {
        path: PathBuf,
        field: String,
        skipped: u64,
    },

    /// A report file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The report could not be serialized.
    #[error("cannot serialize report: {0}")]
    Json(#[from] serde_json::Error),

    /// A background task failed unexpectedly.
    #[error("internal task failed: {0}")]
    Task(String),
}
