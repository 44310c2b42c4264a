//! The experiment report: per-variant traffic, latency and prediction distribution from
//! captured records, accuracy from feedback with Wilson intervals, a significance test
//! (two-proportion z-test for two variants, k×2 chi-square for more) and a verdict.
use super::stats::{chi_square_k_by_2, needed_per_group, two_proportion_z, wilson};
use super::Experiment;
use crate::capture::CaptureRecord;
use crate::feedback::FeedbackRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Knobs of the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Significance level.
    pub alpha: f64,
    /// Fewest labelled instances per variant before any verdict.
    pub min_samples: u64,
    /// Smallest accuracy difference worth detecting (absolute), for "no difference".
    pub min_effect: f64,
    pub power: f64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            alpha: 0.05,
            min_samples: 100,
            min_effect: 0.05,
            power: 0.8,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct VariantReport {
    pub requests: u64,
    pub failed: u64,
    pub latency_ms: BTreeMap<String, f64>,
    pub predictions: BTreeMap<String, u64>,
    pub labelled: u64,
    pub correct: u64,
    pub accuracy: Option<f64>,
    pub accuracy_ci95: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The variant with the best goal metric, significantly (the report's `p_value`).
    Winner { variant: String },
    /// Enough data, and no significant difference.
    NoSignificantDifference,
    NotEnoughData {
        /// Labelled instances needed per variant.
        needed_per_variant: u64,
        have_min: u64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ShadowReport {
    pub shadow: String,
    pub compared: u64,
    pub agreed: u64,
    pub agreement_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ExperimentReport {
    pub experiment: Experiment,
    pub variants: BTreeMap<String, VariantReport>,
    pub test: SignificanceTest,
    pub statistic: f64,
    pub p_value: f64,
    #[serde(flatten)]
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowReport>,
    pub unknown_feedback_ids: u64,
}

/// The test behind the report's `statistic` and `p_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignificanceTest {
    /// Two variants.
    TwoProportionZ,
    /// More than two: a k×2 chi-square.
    ChiSquare,
}

/// Builds the report of `e` from captured records (any endpoint's; filtered here) and
/// feedback (a later record for an id replaces an earlier one), through the same running
/// totals a live report keeps ([`super::Tally`]).
pub fn report(
    e: &Experiment,
    captures: &[CaptureRecord],
    feedback: &[FeedbackRecord],
    opts: &ReportOptions,
) -> ExperimentReport {
    let mut t = super::Tally::new(e.clone());
    for c in captures {
        t.add_record(c);
    }
    for f in feedback {
        t.add_feedback(f);
    }
    t.report(opts)
}

/// The report from per-variant totals: accuracy and its interval, the significance test
/// and the verdict.
pub(super) fn build(
    e: &Experiment,
    mut variants: BTreeMap<String, VariantReport>,
    shadow: Option<ShadowReport>,
    unknown_feedback_ids: u64,
    opts: &ReportOptions,
) -> ExperimentReport {
    for v in variants.values_mut() {
        let (k, n) = (v.correct, v.labelled);
        v.accuracy = (n > 0).then(|| k as f64 / n as f64);
        v.accuracy_ci95 = (n > 0).then(|| wilson(k, n, 0.05));
    }
    let groups: Vec<(u64, u64)> = e
        .variants
        .iter()
        .map(|v| (variants[v].correct, variants[v].labelled))
        .collect();
    let (test, statistic, p_value) = if groups.len() == 2 {
        let (z, p) = two_proportion_z(groups[0].0, groups[0].1, groups[1].0, groups[1].1);
        (SignificanceTest::TwoProportionZ, z, p)
    } else {
        let (c, p) = chi_square_k_by_2(&groups);
        (SignificanceTest::ChiSquare, c, p)
    };
    let verdict = verdict(e, &variants, p_value, opts);
    ExperimentReport {
        experiment: e.clone(),
        variants,
        test,
        statistic,
        p_value,
        verdict,
        shadow,
        unknown_feedback_ids,
    }
}

fn verdict(
    e: &Experiment,
    variants: &BTreeMap<String, VariantReport>,
    p_value: f64,
    opts: &ReportOptions,
) -> Verdict {
    let have_min = e
        .variants
        .iter()
        .map(|v| variants[v].labelled)
        .min()
        .unwrap_or(0);
    let accs: Vec<f64> = e
        .variants
        .iter()
        .map(|v| variants[v].accuracy.unwrap_or(0.0))
        .collect();
    let best = accs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let base = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let (lo, hi) = (
        (base - opts.min_effect / 2.0).clamp(0.001, 0.999),
        (base + opts.min_effect / 2.0).clamp(0.001, 0.999),
    );
    let needed = needed_per_group(lo, hi, opts.alpha, opts.power).max(opts.min_samples);
    if have_min < opts.min_samples {
        return Verdict::NotEnoughData {
            needed_per_variant: needed,
            have_min,
        };
    }
    if p_value < opts.alpha {
        return Verdict::Winner {
            variant: e.variants[best].clone(),
        };
    }
    if have_min >= needed {
        Verdict::NoSignificantDifference
    } else {
        Verdict::NotEnoughData {
            needed_per_variant: needed,
            have_min,
        }
    }
}
