//! The inference contract's bodies, read the same way wherever they are met: request bodies
//! → texts (the endpoint decoding a request, the monitor reading a captured one) and
//! response bodies → predicted labels (the monitor, quality and experiment reports reading
//! captured responses). The endpoint writes responses in exactly these shapes.
use serde_json::Value;

/// A body that is not a valid request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not parseable as its content type says.
    #[error("{0}")]
    Malformed(String),
    /// Parseable, but not acceptable (no instances, too many, an empty text).
    #[error("{0}")]
    Invalid(String),
    /// A content type the contract does not accept.
    #[error("unsupported content type {0:?} (use application/json, application/jsonlines, text/csv or text/plain)")]
    UnsupportedMediaType(String),
}

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

impl InputFormat {
    /// The format a `Content-Type` names (missing: JSON); parameters are ignored.
    pub fn of_content_type(content_type: Option<&str>) -> Result<InputFormat, PayloadError> {
        let Some(ct) = content_type else {
            return Ok(InputFormat::Json);
        };
        match media_type(ct).as_str() {
            "application/json" | "" => Ok(InputFormat::Json),
            "application/jsonlines"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/x-ndjson"
            | "application/ndjson" => Ok(InputFormat::JsonLines),
            "text/csv" => Ok(InputFormat::Csv),
            "text/plain" => Ok(InputFormat::Text),
            _ => Err(PayloadError::UnsupportedMediaType(ct.to_string())),
        }
    }
}

/// A content type without its parameters, trimmed and in lower case.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Texts of one request. `single` is true for one review sent as such (not as a list),
/// which is answered with one prediction object rather than a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub texts: Vec<String>,
    pub single: bool,
}

pub fn decode(
    format: InputFormat,
    body: &[u8],
    max_instances: usize,
) -> Result<Decoded, PayloadError> {
    let decoded = match format {
        InputFormat::Json => json(body)?,
        InputFormat::JsonLines => jsonlines(body)?,
        InputFormat::Csv => csv_records(body)?,
        InputFormat::Text => Decoded {
            texts: vec![utf8(body)?.to_string()],
            single: true,
        },
    };
    if decoded.texts.is_empty() {
        return Err(PayloadError::Invalid("the request has no instances".into()));
    }
    if decoded.texts.len() > max_instances {
        return Err(PayloadError::Invalid(format!(
            "{} instances in one request; at most {max_instances} are allowed",
            decoded.texts.len()
        )));
    }
    if let Some(i) = decoded.texts.iter().position(|t| t.trim().is_empty()) {
        return Err(PayloadError::Invalid(format!(
            "instance {i} has an empty text"
        )));
    }
    Ok(decoded)
}

fn utf8(body: &[u8]) -> Result<&str, PayloadError> {
    std::str::from_utf8(body)
        .map_err(|e| PayloadError::Malformed(format!("the body is not UTF-8: {e}")))
}

fn json(body: &[u8]) -> Result<Decoded, PayloadError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::Malformed(format!("invalid JSON: {e}")))?;
    match v {
        Value::Array(items) => many(items),
        Value::Object(mut o) => {
            for key in ["instances", "inputs", "texts"] {
                if let Some(v) = o.remove(key) {
                    return match v {
                        Value::Array(items) => many(items),
                        Value::String(s) => Ok(Decoded {
                            texts: vec![s],
                            single: true,
                        }),
                        _ => Err(PayloadError::Malformed(format!(
                            "\"{key}\" must be a list of texts"
                        ))),
                    };
                }
            }
            Ok(Decoded {
                texts: vec![text_of(Value::Object(o))?],
                single: true,
            })
        }
        other => Ok(Decoded {
            texts: vec![text_of(other)?],
            single: true,
        }),
    }
}

fn many(items: Vec<Value>) -> Result<Decoded, PayloadError> {
    let texts = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| text_of(v).map_err(|e| PayloadError::Malformed(format!("instance {i}: {e}"))))
        .collect::<Result<_, _>>()?;
    Ok(Decoded {
        texts,
        single: false,
    })
}

/// A review: a JSON string, or an object with a string `text` (or `review`) field.
fn text_of(v: Value) -> Result<String, PayloadError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Object(mut o) => match o.remove("text").or_else(|| o.remove("review")) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(PayloadError::Malformed("\"text\" must be a string".into())),
            None => Err(PayloadError::Malformed("expected a \"text\" field".into())),
        },
        _ => Err(PayloadError::Malformed(
            "expected a review as a string or {\"text\": ...}, or {\"instances\": [...]}".into(),
        )),
    }
}

fn jsonlines(body: &[u8]) -> Result<Decoded, PayloadError> {
    let mut texts = Vec::new();
    for (n, line) in utf8(body)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| PayloadError::Malformed(format!("line {}: invalid JSON: {e}", n + 1)))?;
        texts
            .push(text_of(v).map_err(|e| PayloadError::Malformed(format!("line {}: {e}", n + 1)))?);
    }
    Ok(Decoded {
        texts,
        single: false,
    })
}

fn csv_records(body: &[u8]) -> Result<Decoded, PayloadError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut texts = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| PayloadError::Malformed(format!("CSV record {}: {e}", n + 1)))?;
        texts.push(rec.get(0).unwrap_or("").to_string());
    }
    Ok(Decoded {
        texts,
        single: false,
    })
}

/// Whether a content type names a CSV body (`text/csv`, `application/x-csv`, …).
pub fn is_csv(content_type: &str) -> bool {
    media_type(content_type).contains("csv")
}

/// The predicted label of each instance of a response body, as the endpoint writes them:
/// `{"label": …}`, `{"predictions": [{"label": …}, …]}`, JSON lines, or CSV rows
/// (`label,p1,p2,…`, `ERROR,…` for an item that failed). `None` for an item without a
/// label (it failed).
pub fn response_labels(content_type: &str, body: &str) -> Vec<Option<String>> {
    if is_csv(content_type) {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        return rdr
            .records()
            .map(|r| {
                r.ok()
                    .and_then(|r| r.get(0).map(str::to_string))
                    .filter(|l| !l.is_empty() && l != "ERROR")
            })
            .collect();
    }
    let label = |v: &Value| v.get("label").and_then(Value::as_str).map(String::from);
    match serde_json::from_str::<Value>(body) {
        Ok(v) => match v.get("predictions").and_then(Value::as_array) {
            Some(items) => items.iter().map(label).collect(),
            None => vec![label(&v)],
        },
        Err(_) => body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).ok().as_ref().and_then(label))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: InputFormat, b: &str) -> Result<Decoded, PayloadError> {
        decode(f, b.as_bytes(), 3)
    }

    #[test]
    fn json_shapes() {
        assert_eq!(d(InputFormat::Json, r#""great""#).unwrap().texts, ["great"]);
        let one = d(InputFormat::Json, r#"{"text": "great"}"#).unwrap();
        assert!(one.single);
        let many = d(InputFormat::Json, r#"{"instances": ["a", {"text": "b"}]}"#).unwrap();
        assert_eq!(
            (many.texts.clone(), many.single),
            (vec!["a".to_string(), "b".into()], false)
        );
        assert_eq!(d(InputFormat::Json, r#"["a","b"]"#).unwrap().texts.len(), 2);
    }

    #[test]
    fn errors_are_client_errors() {
        assert!(matches!(
            d(InputFormat::Json, "{"),
            Err(PayloadError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, "5"),
            Err(PayloadError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"text": 5}"#),
            Err(PayloadError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"instances": []}"#),
            Err(PayloadError::Invalid(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"text": "  "}"#),
            Err(PayloadError::Invalid(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"["a","b","c","d"]"#),
            Err(PayloadError::Invalid(_))
        ));
        assert!(matches!(
            decode(InputFormat::Text, &[0xff, 0xfe], 3),
            Err(PayloadError::Malformed(_))
        ));
    }

    #[test]
    fn content_types() {
        let f = InputFormat::of_content_type;
        assert_eq!(f(None).unwrap(), InputFormat::Json);
        assert_eq!(
            f(Some("application/json; charset=utf-8")).unwrap(),
            InputFormat::Json
        );
        assert_eq!(
            f(Some("application/jsonlines")).unwrap(),
            InputFormat::JsonLines
        );
        assert_eq!(f(Some("TEXT/CSV")).unwrap(), InputFormat::Csv);
        assert!(matches!(
            f(Some("image/png")),
            Err(PayloadError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn labels_from_every_response_format() {
        let json = "application/json";
        assert_eq!(
            response_labels(json, r#"{"label":"pos","probabilities":{}}"#),
            [Some("pos".to_string())]
        );
        assert_eq!(
            response_labels(
                json,
                r#"{"predictions":[{"label":"a"},{"error":"x","type":"model_error"}]}"#
            ),
            [Some("a".to_string()), None]
        );
        assert_eq!(
            response_labels(
                "application/jsonlines",
                "{\"label\":\"a\"}\n{\"label\":\"b\"}\n"
            ),
            [Some("a".to_string()), Some("b".to_string())]
        );
        assert_eq!(
            response_labels("text/csv", "pos,0.9,0.1\nERROR,model error\n\"a, b\",1\n"),
            [Some("pos".to_string()), None, Some("a, b".to_string())]
        );
    }

    #[test]
    fn jsonlines_and_csv() {
        let j = d(InputFormat::JsonLines, "\"a\"\n\n{\"text\":\"b\"}\n").unwrap();
        assert_eq!(j.texts, ["a", "b"]);
        assert!(matches!(
            d(InputFormat::JsonLines, "\"a\"\nnope"),
            Err(PayloadError::Malformed(_))
        ));
        let c = d(InputFormat::Csv, "plain text\n\"quoted, with comma\",5\n").unwrap();
        assert_eq!(c.texts, ["plain text", "quoted, with comma"]);
    }
}
