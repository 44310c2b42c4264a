//! Baseline vs current, per feature: PSI and Jensen–Shannon as effect sizes, KS (numeric)
//! or chi-square (categorical) for significance with a Bonferroni correction. A feature
//! drifts only when the test is significant *and* the effect is at least the threshold, so
//! a large window does not flag a negligible shift.
use super::stats::{chi_square_gof, js_distance, ks_binned, psi};
use crate::baseline::{Baseline, Distribution, InferredType, OTHER_TOKEN};
use crate::capture::Side;
use crate::profile::{side_of, Current};
use serde::{Deserialize, Serialize};

/// Thresholds of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Fewest records in the window before anything is judged.
    pub min_samples: u64,
    /// Family-wise significance level (divided by the number of features tested).
    pub alpha: f64,
    /// PSI at or above this is a moderate shift (0.1) …
    pub psi_moderate: f64,
    /// … and at or above this a major one (0.25).
    pub psi_major: f64,
    /// Jensen–Shannon distance threshold (categorical effect size).
    pub js: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_samples: 100,
            alpha: 0.05,
            psi_moderate: 0.1,
            psi_major: 0.25,
            js: 0.1,
        }
    }
}

/// The significance test of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftTest {
    /// Two-sample Kolmogorov–Smirnov (numeric features).
    Ks,
    /// Chi-square goodness of fit (categorical features).
    ChiSquare,
}

/// How far a feature drifted (PSI 0.1 / 0.25 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    None,
    Moderate,
    Major,
}

/// Model Monitor's constraint check types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckType {
    DataTypeCheck,
    CompletenessCheck,
    BaselineDriftCheck,
    MissingColumnCheck,
    ExtraColumnCheck,
    CategoricalValuesCheck,
}

/// Whether a run judged anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    /// Fewer records in the window than the minimum.
    InsufficientData,
}

macro_rules! display_as_serde {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let v = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
                f.write_str(v.as_str().unwrap_or_default())
            }
        }
    )*};
}
display_as_serde!(DriftTest, Severity, CheckType, RunStatus);

/// What was found for one feature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureDrift {
    pub name: String,
    pub inferred_type: InferredType,
    pub count: u64,
    pub psi: f64,
    pub js_distance: f64,
    pub test: DriftTest,
    pub statistic: f64,
    pub p_value: f64,
    pub severity: Severity,
    pub drift: bool,
    /// Bucket labels and baseline / current counts (for the report's histograms).
    pub buckets: Vec<String>,
    pub baseline_counts: Vec<f64>,
    pub current_counts: Vec<f64>,
}

/// One entry of `constraint_violations.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Violation {
    pub feature_name: String,
    pub constraint_check_type: CheckType,
    pub description: String,
}

/// A baseline feature the window could not judge because too few of its records carry the
/// side of the exchange it is computed from (an endpoint capturing requests only or
/// responses only): listed, not a violation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unchecked {
    pub feature_name: String,
    pub reason: String,
}

/// The result of one monitoring run (`monitoring_report.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    pub status: RunStatus,
    pub records: u64,
    /// Texts the tokenizer failed on, left out of the text features.
    pub unprofiled_texts: u64,
    /// Lines of the capture files that are not capture records (left out).
    pub unreadable_lines: u64,
    pub min_samples: u64,
    pub bonferroni_alpha: f64,
    pub features: Vec<FeatureDrift>,
    pub violations: Vec<Violation>,
    /// Features left unjudged because the capture mode left their side out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked_features: Vec<Unchecked>,
    /// Share of features drifting.
    pub drift_share: f64,
}

/// Compares the current window with the baseline.
pub fn check(baseline: &Baseline, current: &Current, t: &Thresholds) -> CheckResult {
    let mut out = CheckResult {
        status: RunStatus::Completed,
        records: current.records,
        unprofiled_texts: current.unprofiled,
        unreadable_lines: current.unreadable,
        min_samples: t.min_samples,
        bonferroni_alpha: t.alpha,
        features: Vec::new(),
        violations: Vec::new(),
        unchecked_features: Vec::new(),
        drift_share: 0.0,
    };
    if current.records < t.min_samples {
        out.status = RunStatus::InsufficientData;
        return out;
    }
    // A side of the exchange carried by too few records (capture mode Input or Output, or
    // a mode changed within the window) leaves its features unjudged, not missing.
    let (carried, uncarried): (Vec<_>, Vec<_>) = baseline
        .features
        .iter()
        .partition(|f| current.carrying(&f.name) >= t.min_samples);
    for f in uncarried {
        let side = match side_of(&f.name) {
            Side::Output => "the response (endpointOutput)",
            Side::Input => "the request (endpointInput)",
        };
        out.unchecked_features.push(Unchecked {
            feature_name: f.name.clone(),
            reason: format!(
                "{} of {} records carry {side}, fewer than the minimum {} (the endpoint's capture mode leaves that side out)",
                current.carrying(&f.name),
                current.records,
                t.min_samples
            ),
        });
    }
    let testable: Vec<_> = carried
        .iter()
        .copied()
        .filter(|f| match &f.distribution {
            Distribution::Numeric(_) => current.numeric(&f.name).is_some_and(|x| !x.is_empty()),
            Distribution::Categorical(_) => current.categorical(&f.name).is_some(),
        })
        .collect();
    let alpha = t.alpha / testable.len().max(1) as f64;
    out.bonferroni_alpha = alpha;
    let moderate = t.psi_moderate;
    for f in &testable {
        let d = match &f.distribution {
            Distribution::Numeric(b) => numeric(
                &f.name,
                f.inferred_type,
                b,
                current.numeric(&f.name).unwrap_or(&[]),
            ),
            Distribution::Categorical(b) => categorical(
                &f.name,
                f.inferred_type,
                b,
                current.categorical(&f.name).expect("filtered"),
            ),
        };
        let mut d = d;
        let effect = d.psi >= moderate || (d.test == DriftTest::ChiSquare && d.js_distance >= t.js);
        d.drift = d.p_value < alpha && effect;
        d.severity = match (d.drift, d.psi >= t.psi_major) {
            (false, _) => Severity::None,
            (true, true) => Severity::Major,
            (true, false) => Severity::Moderate,
        };
        if d.drift {
            out.violations.push(Violation {
                feature_name: f.name.clone(),
                constraint_check_type: CheckType::BaselineDriftCheck,
                description: format!(
                    "{} drift on {}: PSI {:.3}, Jensen-Shannon {:.3}, {} {:.4} (p = {:.2e} < {:.2e}) over {} values",
                    d.severity, f.name, d.psi, d.js_distance, d.test, d.statistic, d.p_value, alpha, d.count
                ),
            });
        }
        if let (Some(domain), Distribution::Categorical(_)) = (&f.domain, &f.distribution) {
            let cur = current.categorical(&f.name).expect("filtered");
            let unseen: Vec<&String> = cur.keys().filter(|k| !domain.contains(k)).collect();
            if !unseen.is_empty() {
                out.violations.push(Violation {
                    feature_name: f.name.clone(),
                    constraint_check_type: CheckType::CategoricalValuesCheck,
                    description: format!("values outside the baseline domain: {unseen:?}"),
                });
            }
        }
        out.features.push(d);
    }
    // Completeness of predictions (failed requests and failed items have none).
    if let Some(f) = carried.iter().find(|f| f.name == "predicted_label") {
        let total = current.output_instances.max(current.with_output);
        let share = if total == 0 {
            1.0
        } else {
            current.predicted_present as f64 / total as f64
        };
        if share + 0.01 < f.completeness {
            out.violations.push(Violation {
                feature_name: f.name.clone(),
                constraint_check_type: CheckType::CompletenessCheck,
                description: format!(
                    "completeness {share:.4} is below the baseline's {:.4} ({} failed requests)",
                    f.completeness, current.failed
                ),
            });
        }
    }
    for f in &carried {
        if !testable.iter().any(|t| t.name == f.name) {
            out.violations.push(Violation {
                feature_name: f.name.clone(),
                constraint_check_type: CheckType::MissingColumnCheck,
                description: format!("{} could not be computed from the captured traffic", f.name),
            });
        }
    }
    let n = out.features.len().max(1) as f64;
    out.drift_share = out.features.iter().filter(|f| f.drift).count() as f64 / n;
    out
}

impl FeatureDrift {
    /// The drift figures of one feature from its bucketed baseline and current counts and
    /// its significance test `(name, (statistic, p-value))`; severity is judged later.
    fn new(
        name: &str,
        ty: InferredType,
        count: u64,
        (test, (statistic, p_value)): (DriftTest, (f64, f64)),
        buckets: Vec<String>,
        baseline_counts: Vec<f64>,
        current_counts: Vec<f64>,
    ) -> FeatureDrift {
        FeatureDrift {
            name: name.into(),
            inferred_type: ty,
            count,
            psi: psi(&baseline_counts, &current_counts),
            js_distance: js_distance(&baseline_counts, &current_counts),
            test,
            statistic,
            p_value,
            severity: Severity::None,
            drift: false,
            buckets,
            baseline_counts,
            current_counts,
        }
    }
}

fn numeric(name: &str, ty: InferredType, b: &[(f64, f64, f64)], xs: &[f64]) -> FeatureDrift {
    // Baseline buckets plus an under- and an overflow bucket for values outside them.
    let k = b.len();
    let (lo, hi) = (
        b.first().map_or(0.0, |x| x.0),
        b.last().map_or(0.0, |x| x.1),
    );
    let mut cur = vec![0.0; k + 2];
    let width = if k > 0 { (hi - lo) / k as f64 } else { 0.0 };
    for &x in xs {
        let i = if x < lo {
            0
        } else if x > hi {
            k + 1
        } else if width > 0.0 {
            1 + (((x - lo) / width) as usize).min(k - 1)
        } else {
            1
        };
        cur[i] += 1.0;
    }
    let mut base = vec![0.0];
    base.extend(b.iter().map(|x| x.2));
    base.push(0.0);
    let mut labels = vec![format!("< {lo:.3}")];
    labels.extend(b.iter().map(|x| format!("{:.3}–{:.3}", x.0, x.1)));
    labels.push(format!("> {hi:.3}"));
    let test = (DriftTest::Ks, ks_binned(&base, &cur));
    FeatureDrift::new(name, ty, xs.len() as u64, test, labels, base, cur)
}

fn categorical(
    name: &str,
    ty: InferredType,
    b: &[(String, f64)],
    cur: &std::collections::HashMap<String, u64>,
) -> FeatureDrift {
    // Baseline categories, then one bucket for everything else (unseen values included).
    let mut labels: Vec<String> = b.iter().map(|x| x.0.clone()).collect();
    let mut base: Vec<f64> = b.iter().map(|x| x.1).collect();
    let other_idx = match labels.iter().position(|l| l == OTHER_TOKEN) {
        Some(i) => i,
        None => {
            labels.push(OTHER_TOKEN.into());
            base.push(0.0);
            labels.len() - 1
        }
    };
    let mut counts = vec![0.0; labels.len()];
    let index: std::collections::HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    for (k, v) in cur {
        counts[*index.get(k.as_str()).unwrap_or(&other_idx)] += *v as f64;
    }
    let test = (DriftTest::ChiSquare, chi_square_gof(&base, &counts));
    FeatureDrift::new(name, ty, cur.values().sum(), test, labels, base, counts)
}
