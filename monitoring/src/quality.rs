//! Model quality per variant: captured predictions joined with ground truth by inference id
//! (else event id), as Model Monitor's model-quality job does, with the one set of
//! classification metrics ([`models::Evaluation`]).
use crate::capture::CaptureRecord;
use crate::feedback::FeedbackRecord;
use models::Evaluation;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub feedback_records: u64,
    /// Feedback ids with no captured prediction (not an error).
    pub unknown_ids: u64,
    /// Instances whose label count did not match, whose prediction failed, or whose
    /// response was not captured (an endpoint capturing requests only).
    pub unmatched_instances: u64,
    /// Accuracy, balanced accuracy, macro-F1, per-class report and confusion matrix of the
    /// instances with both a prediction and a true label.
    pub variants: BTreeMap<String, Evaluation>,
}

/// Joins by inference id (production records only; shadow and failed records are left
/// out).
pub fn quality(captures: &[CaptureRecord], feedback: &[FeedbackRecord]) -> QualityReport {
    let by_id: HashMap<&str, &CaptureRecord> = captures
        .iter()
        .filter(|c| !c.shadow && !c.failed)
        .map(|c| (c.join_id(), c))
        .collect();
    let mut pairs: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    let (mut unknown, mut unmatched) = (0, 0);
    for f in feedback {
        let Some(c) = by_id.get(f.inference_id.as_str()) else {
            unknown += 1;
            continue;
        };
        let predicted = c.labels();
        if predicted.len() != f.labels.len() {
            unmatched += f.labels.len() as u64;
            continue;
        }
        for (p, t) in predicted.into_iter().zip(&f.labels) {
            match p {
                Some(p) => pairs.entry(&c.variant).or_default().push((t.clone(), p)),
                None => unmatched += 1,
            }
        }
    }
    QualityReport {
        feedback_records: feedback.len() as u64,
        unknown_ids: unknown,
        unmatched_instances: unmatched,
        variants: pairs
            .into_iter()
            .map(|(v, ps)| (v.to_string(), Evaluation::from_pairs(&ps)))
            .collect(),
    }
}

/// Labelled examples for retraining: captured texts joined with their ground truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labelled {
    /// `(text, label)`, one per instance, each text once (its latest label).
    pub examples: Vec<(String, String)>,
    /// Feedback ids with no captured request.
    pub unknown_ids: u64,
    /// Instances left out: the label count did not match the request's texts.
    pub unmatched_instances: u64,
    /// Labels that are not one of the model's classes.
    pub invalid_labels: u64,
    /// Texts that appeared again (the later label kept).
    pub duplicate_texts: u64,
}

/// Joins ground truth with the texts of captured requests (shadow copies left out), keeps
/// labels that are one of `classes`, and de-duplicates texts (the later label wins).
/// `feedback` should already hold one record per id ([`crate::feedback::FeedbackSet`]).
pub fn labelled_examples(
    captures: &[CaptureRecord],
    feedback: &[FeedbackRecord],
    classes: &[String],
) -> Labelled {
    let by_id: HashMap<&str, &CaptureRecord> = captures
        .iter()
        .filter(|c| !c.shadow && c.capture_data.endpoint_input.is_some())
        .map(|c| (c.join_id(), c))
        .collect();
    let mut out = Labelled::default();
    let mut at: HashMap<String, usize> = HashMap::new();
    for f in feedback {
        let Some(c) = by_id.get(f.inference_id.as_str()) else {
            out.unknown_ids += 1;
            continue;
        };
        let texts = c.texts();
        if texts.len() != f.labels.len() {
            out.unmatched_instances += f.labels.len() as u64;
            continue;
        }
        for (text, label) in texts.into_iter().zip(&f.labels) {
            if !classes.contains(label) {
                out.invalid_labels += 1;
                continue;
            }
            match at.get(&text) {
                Some(&i) => {
                    out.examples[i].1.clone_from(label);
                    out.duplicate_texts += 1;
                }
                None => {
                    at.insert(text.clone(), out.examples.len());
                    out.examples.push((text, label.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, Exchange};

    #[test]
    fn joins_by_inference_id_and_counts_what_does_not_join() {
        let rec = |variant: &str, id: &str, output: &str| {
            CaptureRecord::new(
                &Exchange::json(variant, "v", id, br#"{"text":"x"}"#, output.as_bytes()),
                &CaptureFormat::default(),
            )
        };
        let captures = vec![
            rec("A", "1", r#"{"label":"pos"}"#),
            rec("A", "2", r#"{"label":"neg"}"#),
            rec(
                "B",
                "3",
                r#"{"predictions":[{"label":"pos"},{"label":"pos"}]}"#,
            ),
        ];
        let fb = |id: &str, labels: &[&str]| FeedbackRecord {
            inference_id: id.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            at: None,
        };
        let q = quality(
            &captures,
            &[
                fb("1", &["pos"]),
                fb("2", &["pos"]),
                fb("3", &["pos", "neg"]),
                fb("3x", &["pos"]),
                fb("1", &["pos", "neg"]),
            ],
        );
        assert_eq!(
            (q.feedback_records, q.unknown_ids, q.unmatched_instances),
            (5, 1, 2)
        );
        let a = &q.variants["A"];
        assert_eq!((a.n, a.correct()), (2, 1));
        assert_eq!(a.labels, ["neg", "pos"]);
        assert_eq!(a.confusion_matrix, vec![vec![0, 0], vec![1, 1]]);
        assert_eq!((q.variants["B"].n, q.variants["B"].correct()), (2, 1));
        let back: QualityReport =
            serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn labelled_examples_join_validate_and_deduplicate() {
        let rec = |id: &str, input: &str| {
            CaptureRecord::new(
                &Exchange::json("A", "v", id, input.as_bytes(), br#"{"label":"pos"}"#),
                &CaptureFormat::default(),
            )
        };
        let captures = vec![
            rec("1", r#"{"text":"lovely"}"#),
            rec("2", r#"{"instances":["ok","bad"]}"#),
            rec("3", r#"{"text":"lovely"}"#),
        ];
        let fb = |id: &str, labels: &[&str]| FeedbackRecord {
            inference_id: id.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            at: None,
        };
        let classes = ["neg".to_string(), "pos".to_string()];
        let l = labelled_examples(
            &captures,
            &[
                fb("1", &["pos"]),
                fb("2", &["pos", "bogus"]),
                fb("3", &["neg"]),
                fb("9", &["pos"]),
                fb("4", &["pos", "neg"]),
            ],
            &classes,
        );
        assert_eq!(
            l.examples,
            [
                ("lovely".to_string(), "neg".to_string()),
                ("ok".into(), "pos".into())
            ]
        );
        assert_eq!(
            (
                l.unknown_ids,
                l.unmatched_instances,
                l.invalid_labels,
                l.duplicate_texts
            ),
            (2, 0, 1, 1)
        );
    }
}
