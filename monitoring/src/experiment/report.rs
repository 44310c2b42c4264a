//! The experiment report: per-variant traffic, latency and prediction distribution from
//! captured records, accuracy from feedback with Wilson intervals, a significance test
//! (two-proportion z-test for two variants, k×2 chi-square for more) and a verdict.
use super::stats::{chi_square_k_by_2, needed_per_group, two_proportion_z, wilson};
use super::Experiment;
use crate::capture::CaptureRecord;
use crate::feedback::FeedbackRecord;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShadowReport {
    pub shadow: String,
    pub compared: u64,
    pub agreed: u64,
    pub agreement_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The test behind the report's `statistic` and `p_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignificanceTest {
    /// Two variants.
    TwoProportionZ,
    /// More than two: a k×2 chi-square.
    ChiSquare,
}

/// Builds the report of `e` from captured records (any endpoint's; filtered here) and
/// feedback.
pub fn report(
    e: &Experiment,
    captures: &[CaptureRecord],
    feedback: &[FeedbackRecord],
    opts: &ReportOptions,
) -> ExperimentReport {
    let in_window = |c: &&CaptureRecord| {
        let t = c.event_metadata.inference_time;
        t >= e.started_at && e.ended_at.is_none_or(|end| t <= end)
    };
    let records: Vec<&CaptureRecord> = captures.iter().filter(in_window).collect();
    let truth: HashMap<&str, &FeedbackRecord> = feedback
        .iter()
        .map(|f| (f.inference_id.as_str(), f))
        .collect();
    let mut variants = BTreeMap::new();
    let mut seen_ids = std::collections::HashSet::new();
    for v in &e.variants {
        let mine: Vec<&&CaptureRecord> = records
            .iter()
            .filter(|c| !c.shadow && &c.variant == v)
            .collect();
        let mut lat: Vec<f64> = mine.iter().filter_map(|c| c.latency_ms).collect();
        lat.sort_by(f64::total_cmp);
        let mut predictions = BTreeMap::new();
        let (mut labelled, mut correct) = (0, 0);
        for c in &mine {
            let labels = c.labels();
            for l in labels.iter().flatten() {
                *predictions.entry(l.clone()).or_insert(0) += 1;
            }
            if let Some(f) = truth.get(c.join_id()) {
                seen_ids.insert(c.join_id());
                for (p, t) in labels.iter().zip(&f.labels) {
                    if let Some(p) = p {
                        labelled += 1;
                        correct += u64::from(p == t);
                    }
                }
            }
        }
        let latency_ms = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)]
            .into_iter()
            .map(|(k, q)| (k.to_string(), percentile(&lat, q)))
            .collect();
        variants.insert(
            v.clone(),
            VariantReport {
                requests: mine.len() as u64,
                failed: mine.iter().filter(|c| c.failed).count() as u64,
                latency_ms,
                predictions,
                labelled,
                correct,
                accuracy: (labelled > 0).then(|| correct as f64 / labelled as f64),
                accuracy_ci95: (labelled > 0).then(|| wilson(correct, labelled, 0.05)),
            },
        );
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
    let shadow = e.shadow.as_ref().map(|s| shadow_agreement(s, &records));
    let unknown = feedback
        .iter()
        .filter(|f| !seen_ids.contains(f.inference_id.as_str()))
        .count() as u64;
    ExperimentReport {
        experiment: e.clone(),
        variants,
        test,
        statistic,
        p_value,
        verdict,
        shadow,
        unknown_feedback_ids: unknown,
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

fn shadow_agreement(shadow: &str, records: &[&CaptureRecord]) -> ShadowReport {
    let production: HashMap<&str, Vec<Option<String>>> = records
        .iter()
        .filter(|c| !c.shadow)
        .map(|c| (c.join_id(), c.labels()))
        .collect();
    let (mut compared, mut agreed) = (0, 0);
    for c in records.iter().filter(|c| c.shadow && c.variant == shadow) {
        if let Some(p) = production.get(c.join_id()) {
            for (s, p) in c.labels().iter().zip(p) {
                if let (Some(s), Some(p)) = (s, p) {
                    compared += 1;
                    agreed += u64::from(s == p);
                }
            }
        }
    }
    ShadowReport {
        shadow: shadow.to_string(),
        compared,
        agreed,
        agreement_rate: (compared > 0).then(|| agreed as f64 / compared as f64),
    }
}
