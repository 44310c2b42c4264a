//! Ground truth: true labels sent after the fact (`POST /feedback`, or a JSON-lines file of
//! them), in one record shape. One label set per inference id: a later record for the same
//! id replaces the earlier one (counted). [`crate::quality`] joins them with captured
//! predictions.
use crate::MonitoringError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Most items in one feedback body.
pub const MAX_ITEMS: usize = 1000;
/// Most labels of one item (instances of one request).
pub const MAX_LABELS: usize = 1000;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 256;

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
        if labels.len() > MAX_LABELS {
            return Err(format!(
                "feedback for {:?} has {} labels; at most {MAX_LABELS}",
                self.inference_id,
                labels.len()
            ));
        }
        if let Some(l) = labels
            .iter()
            .find(|l| l.is_empty() || l.len() > MAX_LABEL_LEN)
        {
            return Err(format!(
                "label {:?} must have 1 to {MAX_LABEL_LEN} characters",
                l.chars().take(40).collect::<String>()
            ));
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
    if items.len() > MAX_ITEMS {
        return Err(format!(
            "{} feedback items in one body; at most {MAX_ITEMS}",
            items.len()
        ));
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

/// Feedback as read: one record per inference id (the latest), and what was left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackSet {
    /// The latest record of each id, in the order ids first appeared.
    pub records: Vec<FeedbackRecord>,
    /// Records replaced by a later one for the same id.
    pub replaced: u64,
    /// Finished lines that are not feedback records.
    pub unreadable: u64,
}

impl FeedbackSet {
    /// Adds records in arrival order; a later record for an id replaces the earlier one.
    pub fn extend(&mut self, records: impl IntoIterator<Item = FeedbackRecord>) {
        let mut at: HashMap<String, usize> = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.inference_id.clone(), i))
            .collect();
        for r in records {
            match at.get(&r.inference_id) {
                Some(&i) => {
                    self.records[i] = r;
                    self.replaced += 1;
                }
                None => {
                    at.insert(r.inference_id.clone(), self.records.len());
                    self.records.push(r);
                }
            }
        }
    }
}

/// The records of one stored line: a [`FeedbackRecord`] as the endpoint writes it, or any
/// body `POST /feedback` takes (files made by hand).
pub fn parse_line(line: &[u8]) -> Result<Vec<FeedbackRecord>, String> {
    match serde_json::from_slice::<FeedbackRecord>(line) {
        Ok(r) => Ok(vec![r]),
        Err(_) => parse_body(line),
    }
}

/// Reads a JSON-lines file, or every `.jsonl` under a folder (in name order: the endpoint
/// names its files so that this is the order they were written in).
pub fn read_feedback(path: &Path) -> Result<FeedbackSet, MonitoringError> {
    let files = if path.is_dir() {
        crate::capture::jsonl_files(path).map_err(|e| MonitoringError::io(path, e))?
    } else {
        vec![path.to_path_buf()]
    };
    let mut set = FeedbackSet::default();
    for f in files {
        let mut records = Vec::new();
        let mut bad = 0;
        crate::capture::for_each_line(&f, |line, finished| {
            if line.trim_ascii().is_empty() {
                return;
            }
            match parse_line(line) {
                Ok(items) => records.extend(items),
                Err(_) if finished => bad += 1,
                Err(_) => {} // still being written
            }
        })
        .map_err(|e| MonitoringError::io(&f, e))?;
        set.unreadable += bad;
        set.extend(records);
    }
    Ok(set)
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
        let many = serde_json::json!((0..1001)
            .map(|i| serde_json::json!({"id": i.to_string(), "label": "x"}))
            .collect::<Vec<_>>());
        assert!(parse_body(many.to_string().as_bytes())
            .unwrap_err()
            .contains("at most 1000"));
        let long = serde_json::json!({"id": "a", "label": "x".repeat(257)});
        assert!(parse_body(long.to_string().as_bytes()).is_err());
    }

    #[test]
    fn the_latest_record_of_an_id_wins_and_replacements_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.jsonl");
        let stored = |id: &str, l: &str, at: &str| {
            serde_json::to_string(&FeedbackRecord {
                inference_id: id.into(),
                labels: vec![l.into()],
                at: Some(at.into()),
            })
            .unwrap()
        };
        let lines = [
            stored("a", "pos", "2026-01-01T00:00:00.000Z"),
            stored("b", "neg", "2026-01-01T00:00:01.000Z"),
            "not feedback".to_string(),
            r#"{"inferenceId":"a","label":"neu"}"#.to_string(),
        ];
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        let set = read_feedback(&p).unwrap();
        assert_eq!((set.replaced, set.unreadable), (1, 1));
        let got: Vec<(&str, &str)> = set
            .records
            .iter()
            .map(|r| (r.inference_id.as_str(), r.labels[0].as_str()))
            .collect();
        assert_eq!(got, [("a", "neu"), ("b", "neg")]);
        assert_eq!(
            set.records[1].at.as_deref(),
            Some("2026-01-01T00:00:01.000Z"),
            "a stored record keeps its time"
        );
    }
}
