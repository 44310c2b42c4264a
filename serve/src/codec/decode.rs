//! Request bodies → texts, with the validation every format shares.
use super::InputFormat;
use crate::error::ServeError;
use serde_json::Value;

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
) -> Result<Decoded, ServeError> {
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
        return Err(ServeError::Invalid("the request has no instances".into()));
    }
    if decoded.texts.len() > max_instances {
        return Err(ServeError::Invalid(format!(
            "{} instances in one request; at most {max_instances} are allowed",
            decoded.texts.len()
        )));
    }
    if let Some(i) = decoded.texts.iter().position(|t| t.trim().is_empty()) {
        return Err(ServeError::Invalid(format!(
            "instance {i} has an empty text"
        )));
    }
    Ok(decoded)
}

fn utf8(body: &[u8]) -> Result<&str, ServeError> {
    std::str::from_utf8(body)
        .map_err(|e| ServeError::Malformed(format!("the body is not UTF-8: {e}")))
}

fn json(body: &[u8]) -> Result<Decoded, ServeError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ServeError::Malformed(format!("invalid JSON: {e}")))?;
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
                        _ => Err(ServeError::Malformed(format!(
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

fn many(items: Vec<Value>) -> Result<Decoded, ServeError> {
    let texts = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| text_of(v).map_err(|e| ServeError::Malformed(format!("instance {i}: {e}"))))
        .collect::<Result<_, _>>()?;
    Ok(Decoded {
        texts,
        single: false,
    })
}

/// A review: a JSON string, or an object with a string `text` (or `review`) field.
fn text_of(v: Value) -> Result<String, ServeError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Object(mut o) => match o.remove("text").or_else(|| o.remove("review")) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ServeError::Malformed("\"text\" must be a string".into())),
            None => Err(ServeError::Malformed("expected a \"text\" field".into())),
        },
        _ => Err(ServeError::Malformed(
            "expected a review as a string or {\"text\": ...}, or {\"instances\": [...]}".into(),
        )),
    }
}

fn jsonlines(body: &[u8]) -> Result<Decoded, ServeError> {
    let mut texts = Vec::new();
    for (n, line) in utf8(body)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| ServeError::Malformed(format!("line {}: invalid JSON: {e}", n + 1)))?;
        texts.push(text_of(v).map_err(|e| ServeError::Malformed(format!("line {}: {e}", n + 1)))?);
    }
    Ok(Decoded {
        texts,
        single: false,
    })
}

fn csv_records(body: &[u8]) -> Result<Decoded, ServeError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut texts = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| ServeError::Malformed(format!("CSV record {}: {e}", n + 1)))?;
        texts.push(rec.get(0).unwrap_or("").to_string());
    }
    Ok(Decoded {
        texts,
        single: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: InputFormat, b: &str) -> Result<Decoded, ServeError> {
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
            Err(ServeError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, "5"),
            Err(ServeError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"text": 5}"#),
            Err(ServeError::Malformed(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"instances": []}"#),
            Err(ServeError::Invalid(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"{"text": "  "}"#),
            Err(ServeError::Invalid(_))
        ));
        assert!(matches!(
            d(InputFormat::Json, r#"["a","b","c","d"]"#),
            Err(ServeError::Invalid(_))
        ));
        assert!(matches!(
            decode(InputFormat::Text, &[0xff, 0xfe], 3),
            Err(ServeError::Malformed(_))
        ));
    }

    #[test]
    fn jsonlines_and_csv() {
        let j = d(InputFormat::JsonLines, "\"a\"\n\n{\"text\":\"b\"}\n").unwrap();
        assert_eq!(j.texts, ["a", "b"]);
        assert!(matches!(
            d(InputFormat::JsonLines, "\"a\"\nnope"),
            Err(ServeError::Malformed(_))
        ));
        let c = d(InputFormat::Csv, "plain text\n\"quoted, with comma\",5\n").unwrap();
        assert_eq!(c.texts, ["plain text", "quoted, with comma"]);
    }
}
