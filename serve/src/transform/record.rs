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

/// A parsed input record, kept only when it is joined to the output.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Json(Value),
    /// A CSV row as strings (JSON array form, for filters).
    Csv(Vec<String>),
    Text(String),
}

/// Parses one record (its line terminator already removed).
pub fn parse(raw: &[u8], kind: InputKind, knobs: &Knobs) -> Result<(Input, String), RecordError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(RecordError::Blank);
    }
    let s = std::str::from_utf8(raw).map_err(|e| RecordError::InvalidUtf8(e.valid_up_to()))?;
    let (input, value) = match kind {
        InputKind::JsonLines => {
            let v: Value =
                serde_json::from_str(s).map_err(|e| RecordError::InvalidJson(e.to_string()))?;
            (Input::Json(v.clone()), v)
        }
        InputKind::Csv => {
            let row = csv_row(s)?;
            let v = Value::Array(row.iter().cloned().map(Value::String).collect());
            (Input::Csv(row), v)
        }
        InputKind::Text => (Input::Text(s.to_string()), Value::String(s.to_string())),
    };
    let selected = apply(&knobs.input_filter, value)
        .ok_or_else(|| RecordError::FilterNoMatch(knobs.input_filter_src.clone()))?;
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
    use crate::transform::knobs::TransformSpec;

    fn knobs(filter: &str) -> Knobs {
        let mut s = TransformSpec::new("/i", "/o");
        s.data_processing.input_filter = filter.into();
        Knobs::from_spec(&s).unwrap()
    }

    #[test]
    fn bad_records_have_reasons() {
        let k = knobs("$.body");
        let p = |raw: &[u8]| parse(raw, InputKind::JsonLines, &k);
        assert_eq!(p(b"  ").unwrap_err(), RecordError::Blank);
        assert!(matches!(
            p(b"{\"body\":\"\xff\"}"),
            Err(RecordError::InvalidUtf8(9))
        ));
        assert!(matches!(p(b"{nope"), Err(RecordError::InvalidJson(_))));
        assert!(matches!(
            p(b"{\"x\":1}"),
            Err(RecordError::FilterNoMatch(_))
        ));
        assert!(matches!(p(b"{\"body\":3}"), Err(RecordError::NoText(_))));
        assert_eq!(p(b"{\"body\":\"hi\"}").unwrap().1, "hi");
    }

    #[test]
    fn csv_columns_and_text_fields() {
        let (input, text) =
            parse(b"1,\"great, really\",x", InputKind::Csv, &knobs("$[1]")).unwrap();
        assert_eq!(text, "great, really");
        assert_eq!(
            input,
            Input::Csv(vec!["1".into(), "great, really".into(), "x".into()])
        );
        let (_, t) = parse(b"{\"text\":\"a\"}", InputKind::JsonLines, &knobs("$")).unwrap();
        assert_eq!(t, "a");
        let (_, t) = parse(b"plain words", InputKind::Text, &knobs("$")).unwrap();
        assert_eq!(t, "plain words");
    }
}
