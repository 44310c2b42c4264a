//! Model quality per variant from captured predictions joined with ground truth.
use super::FeedbackRecord;
use crate::capture::CaptureRecord;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VariantQuality {
    /// Instances with both a prediction and a true label.
    pub count: u64,
    pub correct: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: BTreeMap<String, ClassMetrics>,
    /// Labels in the order of the matrix's rows (true) and columns (predicted).
    pub labels: Vec<String>,
    pub confusion_matrix: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QualityReport {
    pub feedback_records: u64,
    /// Feedback ids with no captured prediction (not an error).
    pub unknown_ids: u64,
    /// Instances whose label count did not match, whose prediction failed, or whose
    /// response was not captured (an endpoint capturing requests only).
    pub unmatched_instances: u64,
    pub variants: BTreeMap<String, VariantQuality>,
}

/// Joins by inference id (production records only; shadow records are ignored).
pub fn quality(captures: &[CaptureRecord], feedback: &[FeedbackRecord]) -> QualityReport {
    let by_id: HashMap<&str, &CaptureRecord> = captures
        .iter()
        .filter(|c| !c.shadow && !c.failed)
        .map(|c| (c.event_metadata.inference_id.as_str(), c))
        .collect();
    let mut pairs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
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
                Some(p) => pairs
                    .entry(c.variant.clone())
                    .or_default()
                    .push((t.clone(), p)),
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
            .map(|(v, ps)| (v, metrics_of(&ps)))
            .collect(),
    }
}

/// Multiclass metrics of `(true, predicted)` pairs.
pub fn metrics_of(pairs: &[(String, String)]) -> VariantQuality {
    let labels: Vec<String> = pairs
        .iter()
        .flat_map(|(t, p)| [t.clone(), p.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let idx: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let k = labels.len();
    let mut cm = vec![vec![0u64; k]; k];
    for (t, p) in pairs {
        cm[idx[t.as_str()]][idx[p.as_str()]] += 1;
    }
    let correct: u64 = (0..k).map(|i| cm[i][i]).sum();
    let n = pairs.len() as u64;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut per_class = BTreeMap::new();
    let mut f1_sum = 0.0;
    for (i, l) in labels.iter().enumerate() {
        let tp = cm[i][i];
        let predicted: u64 = (0..k).map(|r| cm[r][i]).sum();
        let support: u64 = cm[i].iter().sum();
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        f1_sum += f1;
        per_class.insert(
            l.clone(),
            ClassMetrics {
                precision,
                recall,
                f1,
                support,
            },
        );
    }
    VariantQuality {
        count: n,
        correct,
        accuracy: ratio(correct, n),
        macro_f1: if k == 0 { 0.0 } else { f1_sum / k as f64 },
        per_class,
        labels,
        confusion_matrix: cm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        let p = |t: &str, q: &str| (t.to_string(), q.to_string());
        // true a: a a b ; true b: b a
        let m = metrics_of(&[
            p("a", "a"),
            p("a", "a"),
            p("a", "b"),
            p("b", "b"),
            p("b", "a"),
        ]);
        assert_eq!(m.count, 5);
        assert_eq!(m.correct, 3);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert_eq!(m.confusion_matrix, vec![vec![2, 1], vec![1, 1]]);
        // a: P = 2/3, R = 2/3, F1 = 2/3; b: P = 1/2, R = 1/2, F1 = 1/2
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
    }
}
