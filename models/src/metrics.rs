//! Classification metrics, the one implementation used by training, evaluation, feedback
//! quality and experiments: accuracy, balanced accuracy, macro-F1, a per-class report and
//! the confusion matrix, in the reference workflow's `evaluation.json` shape.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassReport>,
    /// Rows are true classes, columns predicted classes.
    pub confusion_matrix: Vec<Vec<usize>>,
    pub labels: Vec<String>,
    /// Confidence against accuracy, when the predictions came with probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// One confidence bin of a reliability diagram: predictions whose top-class probability
/// lies in `[lower, upper)` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean top-class probability of the bin's predictions (0 when empty).
    pub mean_confidence: f64,
    /// Share of the bin's predictions that were right (0 when empty).
    pub accuracy: f64,
}

/// Binned confidence against accuracy, and the expected calibration error (the
/// count-weighted mean gap between them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub bins: Vec<CalibrationBin>,
    pub expected_calibration_error: f64,
}

impl Calibration {
    /// Bins of equal width over [0, 1] of `confidence` (top-class probabilities), with
    /// whether each prediction was `correct`.
    pub fn compute(confidence: &[f64], correct: &[bool], bins: usize) -> Self {
        let k = bins.max(1);
        let mut count = vec![0usize; k];
        let mut conf = vec![0.0; k];
        let mut hits = vec![0usize; k];
        for (&c, &ok) in confidence.iter().zip(correct) {
            let c = if c.is_finite() {
                c.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let b = ((c * k as f64) as usize).min(k - 1);
            count[b] += 1;
            conf[b] += c;
            hits[b] += ok as usize;
        }
        let n = count.iter().sum::<usize>();
        let bins: Vec<CalibrationBin> = (0..k)
            .map(|b| CalibrationBin {
                lower: b as f64 / k as f64,
                upper: (b + 1) as f64 / k as f64,
                count: count[b],
                mean_confidence: if count[b] == 0 {
                    0.0
                } else {
                    conf[b] / count[b] as f64
                },
                accuracy: ratio(hits[b], count[b]),
            })
            .collect();
        let expected_calibration_error = bins
            .iter()
            .map(|b| ratio(b.count, n) * (b.accuracy - b.mean_confidence).abs())
            .sum();
        Calibration {
            bins,
            expected_calibration_error,
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Evaluation {
    pub fn compute(truth: &[usize], predicted: &[usize], labels: &[String]) -> Self {
        let k = labels.len();
        let mut cm = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            cm[t][p] += 1;
        }
        let n = truth.len();
        let correct: usize = (0..k).map(|i| cm[i][i]).sum();
        let per_class: Vec<ClassReport> = (0..k)
            .map(|i| {
                let support: usize = cm[i].iter().sum();
                let predicted_i: usize = (0..k).map(|r| cm[r][i]).sum();
                let precision = ratio(cm[i][i], predicted_i);
                let recall = ratio(cm[i][i], support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassReport {
                    label: labels[i].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let present: Vec<&ClassReport> = per_class.iter().filter(|c| c.support > 0).collect();
        let mean = |f: &dyn Fn(&ClassReport) -> f64| {
            if present.is_empty() {
                0.0
            } else {
                present.iter().map(|c| f(c)).sum::<f64>() / present.len() as f64
            }
        };
        Evaluation {
            n,
            accuracy: ratio(correct, n),
            balanced_accuracy: mean(&|c| c.recall),
            macro_f1: mean(&|c| c.f1),
            per_class,
            confusion_matrix: cm,
            labels: labels.to_vec(),
            calibration: None,
        }
    }

    /// [`Self::compute`] with the reliability data of the predictions' top-class
    /// probabilities (`confidence`, one per prediction), in ten bins.
    pub fn with_confidence(
        truth: &[usize],
        predicted: &[usize],
        confidence: &[f64],
        labels: &[String],
    ) -> Self {
        let correct: Vec<bool> = truth.iter().zip(predicted).map(|(t, p)| t == p).collect();
        Evaluation {
            calibration: Some(Calibration::compute(confidence, &correct, 10)),
            ..Evaluation::compute(truth, predicted, labels)
        }
    }

    /// Metrics of `(true, predicted)` label pairs (ground truth joined with captured
    /// predictions); the classes are the labels seen on either side, sorted.
    pub fn from_pairs<S: AsRef<str>>(pairs: &[(S, S)]) -> Self {
        let labels: Vec<String> = pairs
            .iter()
            .flat_map(|(t, p)| [t.as_ref(), p.as_ref()])
            .collect::<std::collections::BTreeSet<&str>>()
            .into_iter()
            .map(String::from)
            .collect();
        let index = |l: &str| labels.binary_search_by(|x| x.as_str().cmp(l)).unwrap_or(0);
        let (truth, predicted): (Vec<usize>, Vec<usize>) = pairs
            .iter()
            .map(|(t, p)| (index(t.as_ref()), index(p.as_ref())))
            .unzip();
        Evaluation::compute(&truth, &predicted, &labels)
    }

    /// Instances predicted correctly (the confusion matrix's diagonal).
    pub fn correct(&self) -> usize {
        (0..self.labels.len())
            .map(|i| self.confusion_matrix[i][i])
            .sum()
    }

    /// `{"metrics": {"accuracy": {"value": …}, …}}` as the reference workflow writes it,
    /// plus the per-class report and the confusion matrix.
    pub fn to_json(&self) -> serde_json::Value {
        let mut metrics = serde_json::Map::new();
        for (k, v) in [
            ("accuracy", self.accuracy),
            ("balanced_accuracy", self.balanced_accuracy),
            ("macro_f1", self.macro_f1),
        ] {
            metrics.insert(k.into(), serde_json::json!({ "value": v }));
        }
        for c in &self.per_class {
            for (m, v) in [
                ("precision", c.precision),
                ("recall", c.recall),
                ("f1", c.f1),
            ] {
                metrics.insert(
                    format!("{m}_{}", c.label),
                    serde_json::json!({ "value": v }),
                );
            }
        }
        let mut doc = serde_json::json!({
            "metrics": metrics,
            "n": self.n,
            "classification_report": self.per_class,
            "confusion_matrix": {"labels": self.labels, "matrix": self.confusion_matrix},
        });
        if let Some(c) = &self.calibration {
            doc["calibration"] = serde_json::json!(c);
        }
        doc
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let w = self
            .labels
            .iter()
            .map(|l| l.len())
            .max()
            .unwrap_or(5)
            .max(9);
        let mut s = format!("{:>w$}  precision  recall  f1-score  support\n", "", w = w);
        for c in &self.per_class {
            s += &format!(
                "{:>w$}  {:>9.3}  {:>6.3}  {:>8.3}  {:>7}\n",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        s += &format!(
            "\n{:>w$}  {:.4}\n{:>w$}  {:.4}\n{:>w$}  {:.4}   (n = {})\n",
            "accuracy",
            self.accuracy,
            "balanced",
            self.balanced_accuracy,
            "macro-F1",
            self.macro_f1,
            self.n
        );
        s += "\nconfusion matrix (rows: true, columns: predicted)\n";
        s += &format!("{:>w$}", "");
        for l in &self.labels {
            s += &format!(" {:>w$}", l);
        }
        s.push('\n');
        for (l, row) in self.labels.iter().zip(&self.confusion_matrix) {
            s += &format!("{:>w$}", l);
            for v in row {
                s += &format!(" {:>w$}", v);
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_hand_computation() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // truth a a a b b c ; predicted a a b b c c
        let e = Evaluation::compute(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], &labels);
        assert_eq!(
            e.confusion_matrix,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // recalls 2/3, 1/2, 1 → balanced 13/18
        assert!((e.balanced_accuracy - 13.0 / 18.0).abs() < 1e-12);
        // precisions 1, 1/2, 1/2; f1: 0.8, 0.5, 2/3
        let f1 = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((e.macro_f1 - f1).abs() < 1e-12);
        let j = e.to_json();
        assert_eq!(
            j["metrics"]["accuracy"]["value"].as_f64().unwrap(),
            e.accuracy
        );
        assert!(e.table().contains("macro-F1"));
    }

    #[test]
    fn calibration_bins_confidence_against_accuracy() {
        // 0.95, 0.95 right; 0.55 right, 0.55 wrong; 1.0 right (in the last bin).
        let c = Calibration::compute(
            &[0.95, 0.95, 0.55, 0.55, 1.0],
            &[true, true, true, false, true],
            10,
        );
        assert_eq!(c.bins.len(), 10);
        assert_eq!(c.bins[9].count, 3);
        assert_eq!(c.bins[5].count, 2);
        assert!((c.bins[5].accuracy - 0.5).abs() < 1e-12);
        assert!((c.bins[9].mean_confidence - 2.9 / 3.0).abs() < 1e-12);
        // |1 - 0.9667| * 3/5 + |0.5 - 0.55| * 2/5
        let ece = (1.0 - 2.9 / 3.0) * 0.6 + 0.05 * 0.4;
        assert!((c.expected_calibration_error - ece).abs() < 1e-12);
        let e =
            Evaluation::with_confidence(&[0, 1], &[0, 0], &[0.9, 0.6], &["a".into(), "b".into()]);
        let j = e.to_json();
        assert_eq!(j["calibration"]["bins"].as_array().unwrap().len(), 10);
        let back: Calibration = serde_json::from_value(j["calibration"].clone()).unwrap();
        assert_eq!(Some(back), e.calibration);
    }

    #[test]
    fn metrics_of_label_pairs() {
        let p = |t: &str, q: &str| (t.to_string(), q.to_string());
        // true a: a a b ; true b: b a
        let m = Evaluation::from_pairs(&[
            p("a", "a"),
            p("a", "a"),
            p("a", "b"),
            p("b", "b"),
            p("b", "a"),
        ]);
        assert_eq!((m.n, m.correct()), (5, 3));
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert_eq!(m.labels, ["a", "b"]);
        assert_eq!(m.confusion_matrix, vec![vec![2, 1], vec![1, 1]]);
        // a: P = 2/3, R = 2/3, F1 = 2/3; b: P = 1/2, R = 1/2, F1 = 1/2
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        assert_eq!(Evaluation::from_pairs::<&str>(&[]).n, 0);
    }
}
