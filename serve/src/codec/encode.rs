//! Predictions → response bodies.
use super::OutputFormat;
use crate::batcher::ItemResult;
use crate::error::ServeError;
use serde_json::{json, Map, Value};

/// What every response carries besides the predictions.
pub struct ResponseMeta<'a> {
    pub labels: &'a [String],
    pub model_version: &'a str,
    pub variant: &'a str,
    pub inference_id: &'a str,
}

/// Encodes results. A single review whose prediction failed is an error response; in a
/// list, a failed item is an `{"error", "type"}` entry (CSV: an `ERROR` row) and the others
/// are answered.
pub fn encode(
    format: OutputFormat,
    single: bool,
    mut results: Vec<ItemResult>,
    meta: &ResponseMeta<'_>,
) -> Result<Vec<u8>, ServeError> {
    if single && matches!(results.first(), Some(Err(_))) {
        if let Some(Err(e)) = results.pop() {
            return Err(e);
        }
    }
    let items: Vec<Value> = results.iter().map(|r| item(r, meta.labels)).collect();
    let out = match format {
        OutputFormat::Json => {
            let mut head = if single {
                match items.into_iter().next() {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                }
            } else {
                let mut m = Map::new();
                m.insert("predictions".into(), Value::Array(items));
                m
            };
            head.insert("model_version".into(), meta.model_version.into());
            head.insert("variant".into(), meta.variant.into());
            head.insert("inference_id".into(), meta.inference_id.into());
            serde_json::to_vec(&Value::Object(head))
                .map_err(|e| ServeError::Internal(e.to_string()))?
        }
        OutputFormat::JsonLines => {
            let mut buf = Vec::new();
            for mut v in items {
                v["model_version"] = meta.model_version.into();
                serde_json::to_writer(&mut buf, &v)
                    .map_err(|e| ServeError::Internal(e.to_string()))?;
                buf.push(b'\n');
            }
            buf
        }
        OutputFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            for r in &results {
                let row: Vec<String> = match r {
                    Ok(p) => std::iter::once(p.label.clone())
                        .chain(p.probabilities.iter().map(|v| format!("{v}")))
                        .collect(),
                    Err(e) => vec!["ERROR".into(), e.to_string()],
                };
                w.write_record(&row)
                    .map_err(|e| ServeError::Internal(e.to_string()))?;
            }
            w.into_inner()
                .map_err(|e| ServeError::Internal(e.to_string()))?
        }
    };
    Ok(out)
}

fn item(r: &ItemResult, labels: &[String]) -> Value {
    match r {
        Ok(p) => {
            let probs: Map<String, Value> = labels
                .iter()
                .zip(&p.probabilities)
                .map(|(l, v)| (l.clone(), json!(v)))
                .collect();
            json!({ "label": p.label, "probabilities": probs })
        }
        Err(e) => e.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::Prediction;

    fn ok(label: &str) -> ItemResult {
        Ok(Prediction {
            label: label.into(),
            label_index: 0,
            probabilities: vec![0.75, 0.25],
        })
    }

    #[test]
    fn formats() {
        let labels = vec!["pos".to_string(), "neg".to_string()];
        let meta = ResponseMeta {
            labels: &labels,
            model_version: "v1",
            variant: "A",
            inference_id: "id",
        };
        let one: Value = serde_json::from_slice(
            &encode(OutputFormat::Json, true, vec![ok("pos")], &meta).unwrap(),
        )
        .unwrap();
        assert_eq!(one["label"], "pos");
        assert_eq!(one["probabilities"]["neg"], 0.25);
        assert_eq!(one["model_version"], "v1");
        let rs = || vec![ok("pos"), Err(ServeError::Model("nan".into()))];
        let many: Value =
            serde_json::from_slice(&encode(OutputFormat::Json, false, rs(), &meta).unwrap())
                .unwrap();
        assert_eq!(many["predictions"][1]["type"], "model_error");
        let lines = String::from_utf8(encode(OutputFormat::JsonLines, false, rs(), &meta).unwrap())
            .unwrap();
        assert_eq!(lines.lines().count(), 2);
        let csv =
            String::from_utf8(encode(OutputFormat::Csv, false, rs(), &meta).unwrap()).unwrap();
        assert!(csv.starts_with("pos,0.75,0.25\nERROR,"), "{csv}");
        let failed = vec![Err(ServeError::Model("nan".into()))];
        assert!(matches!(
            encode(OutputFormat::Json, true, failed, &meta),
            Err(ServeError::Model(_))
        ));
    }
}
