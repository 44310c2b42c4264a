//! One input record → the text to predict (and the parsed input, kept for joins), or the
//! reason it cannot be predicted.
use super::knobs::{apply, InputKind, Knobs};
use serde_json::Value;

/// Why a record has no prediction. Written to `<input>.err` and in its place in the output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("blank record")]
    Blank,
    #[error("the record is not valid UTF-8 (at byte {0})")]
    InvalidUtf8(usize),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("invalid CSV: {0}")]
    InvalidCsv(String),
    #[error("InputFilter {0} matches nothing in the record")]
    FilterNoMatch(String),
    #[error("no text: {0}")]
    NoText(String),
    #[error("the record is larger than MaxPayloadInMB ({0} bytes)")]
    TooLarge(usize),
    #[error("prediction failed: {0}")]
    Prediction(String),
}

impl RecordError {
    /// Stable machine-readable type.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::Blank => "blank_record",
            RecordError::InvalidUtf8(_) => "invalid_utf8",
            RecordError::InvalidJson(_) => "invalid_json",
            RecordError::InvalidCsv(_) => "invalid_csv",
            RecordError::FilterNoMatch(_) => "filter_no_match",
            RecordError::NoText(_) => "no_text",
            RecordError::TooLarge(_) => "too_large",
            RecordError::Prediction(_) => "prediction_failed",
        }
    }
}

/// A parsed input record, kept only when it is joined to the output: as written (the join
/// writes it back byte for byte) and parsed (for `OutputFilter`).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Json {
        raw: String,
        value: Value,
    },
    /// A CSV row: the line as written and its cells.
    Csv {
        raw: String,
        cells: Vec<String>,
    },
    Text(String),
}

/// The header row of a CSV file: the line as written and the column names.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub raw: String,
    pub names: Vec<String>,
}

impl Header {
    pub fn parse(raw: &[u8]) -> Result<Header, RecordError> {
        let s = std::str::from_utf8(raw).map_err(|e| RecordError::InvalidUtf8(e.valid_up_to()))?;
        Ok(Header {
            raw: s.to_string(),
            names: csv_row(s)?,
        })
    }
}

/// Parses one record (its line terminator already removed); the input is returned only
/// when `keep` (a join needs it). With a CSV `header`, `InputFilter` sees the row as an
/// object by column name, and as an array when the object form matches nothing (`$[1]`).
pub fn parse(
    raw: &[u8],
    kind: InputKind,
    knobs: &Knobs,
    header: Option<&Header>,
    keep: bool,
) -> Result<(Option<Input>, String), RecordError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(RecordError::Blank);
    }
    let s = std::str::from_utf8(raw).map_err(|e| RecordError::InvalidUtf8(e.valid_up_to()))?;
    let filter = &knobs.input_filter;
    let (input, selected) = match kind {
        InputKind::JsonLines => {
            let v: Value =
                serde_json::from_str(s).map_err(|e| RecordError::InvalidJson(e.to_string()))?;
            let input = keep.then(|| Input::Json {
                raw: s.to_string(),
                value: v.clone(),
            });
            (input, apply(filter, v))
        }
        InputKind::Csv => {
            let cells = csv_row(s)?;
            let array = || Value::Array(cells.iter().cloned().map(Value::String).collect());
            let selected = match header {
                Some(h) => {
                    let named = h.names.iter().cloned();
                    let object = named
                        .zip(cells.iter().cloned().map(Value::String))
                        .collect();
                    apply(filter, Value::Object(object)).or_else(|| apply(filter, array()))
                }
                None => apply(filter, array()),
            };
            let input = keep.then(|| Input::Csv {
                raw: s.to_string(),
                cells,
            });
            (input, selected)
        }
        InputKind::Text => (
            keep.then(|| Input::Text(s.to_string())),
            apply(filter, Value::String(s.to_string())),
        ),
    };
    let selected =
        selected.ok_or_else(|| RecordError::FilterNoMatch(knobs.input_filter_src.clone()))?;
    let text = text_of(selected)?;
    if text.trim().is_empty() {
        return Err(RecordError::NoText("the text is empty".into()));
    }
    Ok((input, text))
}

fn csv_row(s: &str) -> Result<Vec<String>, RecordError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(s.as_bytes());
    match r.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(RecordError::InvalidCsv(e.to_string())),
        None => Err(RecordError::Blank),
    }
}

/// A string; an object's `text`, `review_body` or `review`; an array's strings joined by
/// spaces (a CSV row: pick a column with `InputFilter` `$[k]`).
fn text_of(v: Value) -> Result<String, RecordError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Object(mut o) => {
            for key in ["text", "review_body", "review"] {
                match o.remove(key) {
                    Some(Value::String(s)) => return Ok(s),
                    Some(_) => {
                        return Err(RecordError::NoText(format!("\"{key}\" is not a string")))
                    }
                    None => {}
                }
            }
            Err(RecordError::NoText(
                "an object needs a \"text\" field (or select one with InputFilter)".into(),
            ))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    other => Err(RecordError::NoText(format!("{other} is not a string"))),
                })
                .collect::<Result<_, _>>()?;
            Ok(parts.join(" "))
        }
        other => Err(RecordError::NoText(format!("{other} is not a text"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::TransformSpec;
    use InputKind::{Csv, JsonLines, Text};

    fn knobs(filter: &str) -> Knobs {
        let mut s = TransformSpec::new("/i", "/o");
        s.data_processing.input_filter = filter.into();
        Knobs::from_spec(&s).unwrap()
    }

    #[test]
    fn bad_records_have_reasons() {
        let k = knobs("$.body");
        let p = |raw: &[u8]| parse(raw, JsonLines, &k, None, false).map(|r| r.1);
        assert_eq!(p(b"  "), Err(RecordError::Blank));
        assert_eq!(p(b"{\"body\":\"\xff\"}"), Err(RecordError::InvalidUtf8(9)));
        assert!(matches!(p(b"{nope"), Err(RecordError::InvalidJson(_))));
        assert!(matches!(
            p(b"{\"x\":1}"),
            Err(RecordError::FilterNoMatch(_))
        ));
        assert!(matches!(p(b"{\"body\":3}"), Err(RecordError::NoText(_))));
        assert_eq!(p(b"{\"body\":\"hi\"}"), Ok("hi".into()));
    }

    #[test]
    fn csv_columns_and_text_fields() {
        let row = b"1,\"great, really\",x";
        let (input, text) = parse(row, Csv, &knobs("$[1]"), None, true).unwrap();
        assert_eq!(text, "great, really");
        let cells = vec!["1".into(), "great, really".into(), "x".into()];
        let raw = "1,\"great, really\",x".into();
        assert_eq!(input, Some(Input::Csv { raw, cells }));
        let p = |raw: &[u8], kind, filter, h: Option<&Header>| {
            parse(raw, kind, &knobs(filter), h, false).unwrap().1
        };
        let h = Header::parse(b"id,review,extra").unwrap();
        for filter in ["$.review", "$[1]"] {
            assert_eq!(p(row, Csv, filter, Some(&h)), "great, really", "{filter}");
        }
        let h = Header::parse(b"id,text,extra").unwrap();
        assert_eq!(p(row, Csv, "$", Some(&h)), "great, really");
        assert_eq!(p(b"{\"text\":\"a\"}", JsonLines, "$", None), "a");
        assert_eq!(p(b"plain words", Text, "$", None), "plain words");
    }

    proptest::proptest! {
        /// The jsonlines/CSV/text decoders on arbitrary bytes, with or without a header,
        /// a filter and a join: a typed error or a record, never a panic.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            header in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let (k, whole) = (knobs("$.text"), knobs("$"));
            let h = Header::parse(&header).ok();
            for kind in [JsonLines, Csv, Text] {
                for knobs in [&k, &whole] {
                    let _ = parse(&raw, kind, knobs, h.as_ref(), true);
                    let _ = parse(&raw, kind, knobs, None, false);
                }
            }
        }
    }
}
