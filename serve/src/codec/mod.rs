//! Request and response bodies of `/invocations` and `/v1/predict`: which formats are
//! accepted (`Content-Type`), which are produced (`Accept`), and the conversions. Request
//! bodies are decoded by `monitoring::payload`, the one reader of the contract's bodies
//! (the drift monitor reads captured requests with it too).
mod accept;
mod encode;

pub use accept::{input_format, output_format};
pub use encode::{encode, ResponseMeta};
pub use monitoring::payload::{Decoded, InputFormat};

use crate::error::ServeError;

/// The texts of a request body (at most `max_instances`, none empty).
pub fn decode(
    format: InputFormat,
    body: &[u8],
    max_instances: usize,
) -> Result<Decoded, ServeError> {
    Ok(monitoring::payload::decode(format, body, max_instances)?)
}

/// Response body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Json,
    JsonLines,
    Csv,
}

impl OutputFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Json => "application/json",
            OutputFormat::JsonLines => "application/jsonlines",
            OutputFormat::Csv => "text/csv",
        }
    }
}
