//! Ground truth: true labels sent after the fact (`POST /feedback`, or a JSON-lines file of
//! them), in one record shape. [`crate::quality`] joins them with captured predictions.
use crate::MonitoringError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One ground-truth record: the true label of each instance of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    #[serde(rename = "inferenceId", alias = "inference_id")]
    pub inference_id: String,
    /// True labels, one per instance of the request.
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "inferenceId", alias = "inference_id", alias = "id")]
    inference_id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

impl Item {
    fn into_record(self) -> Result<FeedbackRecord, String> {
        let labels = match (self.label, self.labels) {
            (Some(l), None) => vec![l],
            (None, Some(ls)) if !ls.is_empty() => ls,
            _ => {
                return Err(format!(
                    "feedback for {:?} needs exactly one of \"label\" and \"labels\"",
                    self.inference_id
                ))
            }
        };
        if self.inference_id.is_empty() || self.inference_id.len() > 64 {
            return Err("an inference id has 1 to 64 characters".into());
        }
        Ok(FeedbackRecord {
            inference_id: self.inference_id,
            labels,
            at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        })
    }
}

/// Parses a feedback body: one `{"inferenceId", "label" | "labels"}`, a list of them, or
/// `{"feedback": [...]}`.
pub fn parse_body(body: &[u8]) -> Result<Vec<FeedbackRecord>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) => match o.remove("feedback") {
            Some(serde_json::Value::Array(a)) => a,
            Some(_) => return Err("\"feedback\" must be a list".into()),
            None => vec![serde_json::Value::Object(o)],
        },
        _ => return Err("expected an object or a list".into()),
    };
    if items.is_empty() {
        return Err("no feedback given".into());
    }
    items
        .into_iter()
        .map(|i| {
            serde_json::from_value::<Item>(i)
                .map_err(|e| format!("invalid feedback item: {e}"))?
                .into_record()
        })
        .collect()
}

/// Reads a JSON-lines file (or every `.jsonl` under a folder) of feedback records; lines
/// that are not feedback are counted and returned as the second value, not dropped silently.
pub fn read_feedback(path: &Path) -> Result<(Vec<FeedbackRecord>, u64), MonitoringError> {
    let files = if path.is_dir() {
        crate::capture::jsonl_files(path).map_err(|e| MonitoringError::io(path, e))?
    } else {
        vec![path.to_path_buf()]
    };
    let (mut out, mut bad) = (Vec::new(), 0);
    for f in files {
        crate::capture::for_each_line(&f, |line, finished| {
            if line.trim_ascii().is_empty() {
                return;
            }
            match parse_body(line) {
                Ok(items) => out.extend(items),
                Err(_) if finished => bad += 1,
                Err(_) => {} // still being written
            }
        })
        .map_err(|e| MonitoringError::io(&f, e))?;
    }
    Ok((out, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_every_shape() {
        assert_eq!(
            parse_body(br#"{"inferenceId":"a","label":"pos"}"#).unwrap()[0].labels,
            ["pos"]
        );
        assert_eq!(
            parse_body(
                br#"[{"inference_id":"a","label":"pos"},{"inferenceId":"b","labels":["x","y"]}]"#
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            parse_body(br#"{"feedback":[{"id":"a","label":"p"}]}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(parse_body(br#"{"inferenceId":"a"}"#).is_err());
        assert!(parse_body(b"[]").is_err());
    }
}
