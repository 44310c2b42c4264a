//! Request and response bodies of `/invocations` and `/v1/predict`: which formats are
//! accepted (`Content-Type`), which are produced (`Accept`), and the conversions.
mod accept;
mod decode;
mod encode;

pub use accept::{input_format, output_format};
pub use decode::{decode, Decoded};
pub use encode::{encode, ResponseMeta};

/// Request body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// A review as `"text"` or `{"text": ...}`, or many as `{"instances": [...]}` / `[...]`.
    Json,
    /// One review per line (a JSON string or `{"text": ...}`); blank lines are skipped.
    JsonLines,
    /// One review per record, in the first column; no header.
    Csv,
    /// The whole body is one review.
    Text,
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
