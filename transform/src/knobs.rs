//! SageMaker's transform-job knobs, with the same names and meanings, and their validated
//! form (`Knobs`) with compiled JSONPath filters.
use serde::{Deserialize, Serialize};
use serde_json_path::JsonPath;
use serve::ServeError;
use std::path::PathBuf;

/// Default and largest `MaxPayloadInMB` (SageMaker's).
pub const DEFAULT_MAX_PAYLOAD_MB: u32 = 6;
pub const MAX_MAX_PAYLOAD_MB: u32 = 100;

/// How an input file is cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SplitType {
    /// The whole file is one record.
    None,
    /// One record per line.
    #[default]
    Line,
}

/// How many records go into one request to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BatchStrategy {
    /// One record per request.
    SingleRecord,
    /// As many records as fit `MaxPayloadInMB` per request.
    #[default]
    MultiRecord,
}

/// What separates output records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AssembleWith {
    /// Records are concatenated.
    None,
    /// One record per line.
    #[default]
    Line,
}

/// Whether the input record is joined to the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum JoinSource {
    #[default]
    None,
    /// JSON: the prediction under `SageMakerOutput` (a non-object record becomes
    /// `{"SageMakerInput", "SageMakerOutput"}`); CSV: the prediction appended to the row.
    Input,
}

/// `FromStr` (SageMaker's name, or in lower case / kebab case: `MultiRecord`,
/// `multirecord`, `multi-record`), `Display` (SageMaker's name) and the list of names, for
/// the knobs given as text.
macro_rules! knob_names {
    ($t:ident { $($v:ident => $name:literal),* $(,)? }) => {
        impl $t {
            /// SageMaker's names of the values.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let key = s.replace(['-', '_'], "").to_ascii_lowercase();
                $(if key == $name.to_ascii_lowercase() {
                    return Ok($t::$v);
                })*
                Err(format!(
                    "{s:?} is not a {} (use {})",
                    stringify!($t),
                    $t::NAMES.join(" or ")
                ))
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $($t::$v => $name),* })
            }
        }
    };
}
knob_names!(SplitType { None => "None", Line => "Line" });
knob_names!(BatchStrategy { SingleRecord => "SingleRecord", MultiRecord => "MultiRecord" });
knob_names!(AssembleWith { None => "None", Line => "Line" });
knob_names!(JoinSource { None => "None", Input => "Input" });

/// Checks a job's knobs (filters compile, limits in range) without running it.
pub fn validate(spec: &TransformSpec) -> Result<(), ServeError> {
    Knobs::from_spec(spec).map(|_| ())
}

/// Input file formats (`ContentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InputKind {
    JsonLines,
    Csv,
    Text,
}

impl InputKind {
    pub fn from_mime(s: &str) -> Result<Self, ServeError> {
        match s.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "application/jsonlines" | "application/x-jsonlines" | "application/json" => {
                Ok(InputKind::JsonLines)
            }
            "text/csv" => Ok(InputKind::Csv),
            "text/plain" => Ok(InputKind::Text),
            other => Err(ServeError::Invalid(format!(
                "ContentType {other:?} (use application/jsonlines, application/json, text/csv or text/plain)"
            ))),
        }
    }

    /// The format a file name implies (`.gz` looked through), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.strip_suffix(".gz").unwrap_or(name);
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "jsonlines" | "json" | "ndjson" => Some(InputKind::JsonLines),
            "csv" => Some(InputKind::Csv),
            "txt" => Some(InputKind::Text),
            _ => None,
        }
    }
}

/// Output formats (`Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OutputKind {
    Json,
    Csv,
}

impl OutputKind {
    pub fn from_mime(s: &str) -> Result<Self, ServeError> {
        match s
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "application/jsonlines" | "application/x-jsonlines" | "application/json" => {
                Ok(OutputKind::Json)
            }
            "text/csv" => Ok(OutputKind::Csv),
            other => Err(ServeError::NotAcceptable(other.to_string())),
        }
    }
}

/// `DataProcessing` of a transform job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DataProcessing {
    /// JSONPath selecting the text of each record (`$`: the record itself).
    #[serde(default = "root")]
    pub input_filter: String,
    #[serde(default)]
    pub join_source: JoinSource,
    /// JSONPath selecting what is written of each (joined) output record.
    #[serde(default = "root")]
    pub output_filter: String,
}

impl Default for DataProcessing {
    fn default() -> Self {
        DataProcessing {
            input_filter: root(),
            join_source: JoinSource::None,
            output_filter: root(),
        }
    }
}

fn root() -> String {
    "$".into()
}

/// A transform job as requested (the HTTP body; the CLI builds the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TransformSpec {
    /// An input file or a folder of input files.
    pub input: PathBuf,
    /// The output folder (`<input>.out`, `<input>.err`, the summary).
    pub output: PathBuf,
    #[serde(default)]
    pub split_type: SplitType,
    #[serde(default)]
    pub batch_strategy: BatchStrategy,
    #[serde(rename = "MaxPayloadInMB", default = "default_payload")]
    pub max_payload_in_mb: u32,
    #[serde(default = "one")]
    pub max_concurrent_transforms: usize,
    #[serde(default)]
    pub assemble_with: AssembleWith,
    /// Output MIME type (default: JSON lines, or CSV for CSV input).
    #[serde(default)]
    pub accept: Option<String>,
    /// Input MIME type (default: from the file extension); `text/csv;header=present` says
    /// CSV files start with a header row.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The first line of each CSV file is a header: not predicted, its names usable in
    /// `InputFilter` (`$.review_text`), and with CSV output a header row is written.
    #[serde(default)]
    pub csv_header: bool,
    #[serde(default)]
    pub data_processing: DataProcessing,
    /// The job fails when more records than this fail.
    #[serde(default)]
    pub max_failed_records: Option<u64>,
    /// The job fails when more than this percentage of a file's records fail.
    #[serde(default)]
    pub max_failed_percent: Option<f64>,
    /// Records between two progress checkpoints.
    #[serde(default = "default_checkpoint")]
    pub checkpoint_every: u64,
    /// Records per request to the model with `MultiRecord` (besides the payload limit).
    #[serde(default = "default_records")]
    pub max_records_per_batch: usize,
    /// Test hook: stop (as if killed) once this many records of a file are written,
    /// without finalising anything.
    #[serde(skip)]
    pub stop_after_records: Option<u64>,
}

fn default_payload() -> u32 {
    DEFAULT_MAX_PAYLOAD_MB
}
fn one() -> usize {
    1
}
fn default_checkpoint() -> u64 {
    10_000
}
fn default_records() -> usize {
    256
}

impl TransformSpec {
    /// A spec with SageMaker's defaults.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        TransformSpec {
            input: input.into(),
            output: output.into(),
            split_type: SplitType::Line,
            batch_strategy: BatchStrategy::MultiRecord,
            max_payload_in_mb: DEFAULT_MAX_PAYLOAD_MB,
            max_concurrent_transforms: 1,
            assemble_with: AssembleWith::Line,
            accept: None,
            content_type: None,
            csv_header: false,
            data_processing: DataProcessing::default(),
            max_failed_records: None,
            max_failed_percent: None,
            checkpoint_every: default_checkpoint(),
            max_records_per_batch: default_records(),
            stop_after_records: None,
        }
    }

    /// The knobs that decide the output bytes (a resumed run must match them).
    pub fn fingerprint(&self) -> String {
        serde_json::json!({
            "split": self.split_type, "batch": self.batch_strategy,
            "payload": self.max_payload_in_mb, "assemble": self.assemble_with,
            "accept": self.accept, "content_type": self.content_type,
            "header": self.csv_header, "dp": self.data_processing,
        })
        .to_string()
    }
}

/// Validated knobs with compiled filters.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub split: SplitType,
    pub max_payload_bytes: usize,
    pub max_concurrent: usize,
    pub assemble: AssembleWith,
    pub accept: Option<OutputKind>,
    pub content_type: Option<InputKind>,
    pub csv_header: bool,
    pub input_filter: Option<JsonPath>,
    pub input_filter_src: String,
    pub join: JoinSource,
    pub output_filter: Option<JsonPath>,
    pub max_failed_records: Option<u64>,
    pub max_failed_percent: Option<f64>,
    pub checkpoint_every: u64,
    pub max_records_per_batch: usize,
    pub stop_after_records: Option<u64>,
}

impl Knobs {
    pub fn from_spec(s: &TransformSpec) -> Result<Self, ServeError> {
        if s.max_payload_in_mb == 0 || s.max_payload_in_mb > MAX_MAX_PAYLOAD_MB {
            return Err(ServeError::Invalid(format!(
                "MaxPayloadInMB must be 1 to {MAX_MAX_PAYLOAD_MB}, not {}",
                s.max_payload_in_mb
            )));
        }
        if s.max_concurrent_transforms == 0 || s.max_concurrent_transforms > 64 {
            return Err(ServeError::Invalid(
                "MaxConcurrentTransforms must be 1 to 64".into(),
            ));
        }
        if let Some(p) = s.max_failed_percent {
            if !(0.0..=100.0).contains(&p) {
                return Err(ServeError::Invalid(
                    "MaxFailedPercent must be 0 to 100".into(),
                ));
            }
        }
        if s.checkpoint_every == 0 || s.max_records_per_batch == 0 {
            return Err(ServeError::Invalid(
                "CheckpointEvery and MaxRecordsPerBatch must be positive".into(),
            ));
        }
        let header = s.content_type.as_deref().and_then(header_param);
        if s.csv_header && header == Some(false) {
            return Err(ServeError::Invalid(
                "CsvHeader contradicts ContentType text/csv;header=absent".into(),
            ));
        }
        let dp = &s.data_processing;
        Ok(Knobs {
            split: s.split_type,
            max_payload_bytes: s.max_payload_in_mb as usize * 1024 * 1024,
            max_concurrent: s.max_concurrent_transforms,
            assemble: s.assemble_with,
            accept: s.accept.as_deref().map(OutputKind::from_mime).transpose()?,
            content_type: s
                .content_type
                .as_deref()
                .map(InputKind::from_mime)
                .transpose()?,
            csv_header: s.csv_header || header == Some(true),
            input_filter: compile("InputFilter", &dp.input_filter)?,
            input_filter_src: dp.input_filter.clone(),
            join: dp.join_source,
            output_filter: compile("OutputFilter", &dp.output_filter)?,
            max_failed_records: s.max_failed_records,
            max_failed_percent: s.max_failed_percent,
            checkpoint_every: s.checkpoint_every,
            max_records_per_batch: match s.batch_strategy {
                BatchStrategy::SingleRecord => 1,
                BatchStrategy::MultiRecord => s.max_records_per_batch,
            },
            stop_after_records: s.stop_after_records,
        })
    }
}

/// The `header` parameter of a MIME type (`text/csv;header=present`), if any.
fn header_param(mime: &str) -> Option<bool> {
    mime.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("header") {
            return None;
        }
        Some(v.trim().trim_matches('"').eq_ignore_ascii_case("present"))
    })
}

/// `$` compiles to `None` (the identity).
fn compile(what: &str, src: &str) -> Result<Option<JsonPath>, ServeError> {
    if src.trim() == "$" {
        return Ok(None);
    }
    JsonPath::parse(src)
        .map(Some)
        .map_err(|e| ServeError::Invalid(format!("{what} {src:?} is not a JSONPath: {e}")))
}

/// Applies a filter: no match is `None`, one node is itself, several are an array.
pub fn apply(path: &Option<JsonPath>, v: serde_json::Value) -> Option<serde_json::Value> {
    let Some(p) = path else { return Some(v) };
    let nodes = p.query(&v).all();
    match nodes.len() {
        0 => None,
        1 => Some(nodes[0].clone()),
        _ => Some(serde_json::Value::Array(
            nodes.into_iter().cloned().collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn knobs_parse_from_their_names() {
        assert_eq!("MultiRecord".parse(), Ok(BatchStrategy::MultiRecord));
        assert_eq!("single-record".parse(), Ok(BatchStrategy::SingleRecord));
        assert_eq!("none".parse(), Ok(SplitType::None));
        assert_eq!("Input".parse(), Ok(JoinSource::Input));
        assert_eq!(AssembleWith::Line.to_string(), "Line");
        let e = "Lines".parse::<SplitType>().unwrap_err();
        assert!(e.contains("None or Line"), "{e}");
    }

    #[test]
    fn spec_uses_sagemaker_names_and_defaults() {
        let s: TransformSpec = serde_json::from_value(json!({
            "Input": "/a", "Output": "/b", "SplitType": "Line", "BatchStrategy": "SingleRecord",
            "MaxPayloadInMB": 1, "DataProcessing": {"InputFilter": "$.t", "JoinSource": "Input"}
        }))
        .unwrap();
        assert_eq!(s.batch_strategy, BatchStrategy::SingleRecord);
        assert_eq!(s.data_processing.output_filter, "$");
        let k = Knobs::from_spec(&s).unwrap();
        assert_eq!(k.max_records_per_batch, 1);
        assert_eq!(k.max_payload_bytes, 1 << 20);
        let mut bad = s.clone();
        bad.max_payload_in_mb = 101;
        assert!(Knobs::from_spec(&bad).is_err());
        bad.max_payload_in_mb = 6;
        bad.data_processing.input_filter = "$[".into();
        assert!(Knobs::from_spec(&bad).is_err());
    }

    #[test]
    fn filters_select_one_many_or_none() {
        let f = compile("f", "$.a").unwrap();
        assert_eq!(apply(&f, json!({"a": 1})), Some(json!(1)));
        assert_eq!(apply(&f, json!({"b": 1})), None);
        let many = compile("f", "$[0,2]").unwrap();
        assert_eq!(
            apply(&many, json!(["x", "y", "z"])),
            Some(json!(["x", "z"]))
        );
        assert_eq!(apply(&None, json!(3)), Some(json!(3)));
    }

    #[test]
    fn formats_from_names_and_mimes() {
        assert_eq!(
            InputKind::from_name("a.jsonl.gz"),
            Some(InputKind::JsonLines)
        );
        assert_eq!(InputKind::from_name("a.CSV"), Some(InputKind::Csv));
        assert_eq!(InputKind::from_name("a.out"), None);
        assert_eq!(OutputKind::from_mime("text/csv").unwrap(), OutputKind::Csv);
        assert!(OutputKind::from_mime("image/png").is_err());
        assert_eq!(header_param("text/csv; header=present"), Some(true));
        assert_eq!(header_param("text/csv;header=absent"), Some(false));
        assert_eq!(header_param("text/csv"), None);
        let mut s = TransformSpec::new("/i", "/o");
        s.content_type = Some("text/csv;header=present".into());
        assert!(Knobs::from_spec(&s).unwrap().csv_header);
        s.content_type = Some("text/csv;header=absent".into());
        s.csv_header = true;
        assert!(Knobs::from_spec(&s).is_err());
    }
}
