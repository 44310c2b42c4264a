//! A model's baseline in Model Monitor's layout: `statistics.json` (per-feature
//! distributions over the training split) and `constraints.json` (completeness, domains,
//! the drift threshold). The pipeline's baseline step writes them with [`profile`] and
//! [`write`]; the drift monitor reads them with [`Baseline::load`]. Features:
//! `token_length` (tokens before truncation), `unknown_token_rate`, `predicted_label` and
//! `token` (the vocabulary distribution: the [`TOP_TOKENS`] most frequent training tokens
//! plus an [`OTHER_TOKEN`] bucket), computed by [`crate::profile`].
mod format;

pub use format::*;

use crate::profile::Current;
use crate::MonitoringError;
use std::collections::HashMap;
use std::path::Path;

/// Tokens kept by name in the `token` feature; the rest are [`OTHER_TOKEN`].
pub const TOP_TOKENS: usize = 50;
/// The bucket of every token outside the baseline's top tokens (and of every category a
/// baseline never saw).
pub const OTHER_TOKEN: &str = "__other__";
/// Buckets of a numeric feature's histogram.
const BUCKETS: usize = 10;

fn numerical(name: &str, integral: bool, xs: &[f64]) -> FeatureStatistics {
    let n = xs.len();
    let sum: f64 = xs.iter().sum();
    let mean = if n == 0 { 0.0 } else { sum / n as f64 };
    let var = if n == 0 {
        0.0
    } else {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64
    };
    let (min, max) = if n == 0 {
        (0.0, 0.0)
    } else {
        (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let width = (max - min) / BUCKETS as f64;
    let mut counts = [0usize; BUCKETS];
    for &x in xs {
        let b = if width > 0.0 {
            (((x - min) / width) as usize).min(BUCKETS - 1)
        } else {
            0
        };
        counts[b] += 1;
    }
    FeatureStatistics {
        name: name.into(),
        inferred_type: if integral {
            InferredType::Integral
        } else {
            InferredType::Fractional
        },
        numerical_statistics: Some(NumericalStatistics {
            common: Common {
                num_present: n as u64,
                num_missing: 0,
            },
            mean,
            sum,
            std_dev: var.sqrt(),
            min,
            max,
            distribution: NumericalDistribution {
                kll: Kll {
                    buckets: counts
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| NumericBucket {
                            lower_bound: min + width * i as f64,
                            upper_bound: min + width * (i + 1) as f64,
                            count: c as f64,
                        })
                        .collect(),
                    sketch: None,
                },
            },
        }),
        string_statistics: None,
    }
}

fn categorical(
    name: &str,
    present: u64,
    missing: u64,
    buckets: &[(String, u64)],
) -> FeatureStatistics {
    FeatureStatistics {
        name: name.into(),
        inferred_type: InferredType::String,
        numerical_statistics: None,
        string_statistics: Some(StringStatistics {
            common: Common {
                num_present: present,
                num_missing: missing,
            },
            distinct_count: buckets.iter().filter(|b| b.1 > 0).count() as f64,
            distribution: StringDistribution {
                categorical: Categorical {
                    buckets: buckets
                        .iter()
                        .map(|(v, c)| CategoricalBucket {
                            value: v.clone(),
                            count: *c as f64,
                        })
                        .collect(),
                },
            },
        }),
    }
}

fn constraint(name: &str, inferred_type: InferredType) -> FeatureConstraints {
    FeatureConstraints {
        name: name.into(),
        inferred_type,
        completeness: Some(1.0),
        num_constraints: None,
        string_constraints: None,
    }
}

/// The baseline of profiled texts ([`Current::add_texts`]) and their predicted classes
/// (indices into `labels`), with the [`TOP_TOKENS`] most frequent tokens.
pub fn from_profile(
    texts: &Current,
    predicted: &[usize],
    labels: &[String],
) -> (Statistics, Constraints) {
    profile(
        &texts.token_length,
        &texts.unknown_token_rate,
        predicted,
        labels,
        &top_tokens(&texts.tokens, TOP_TOKENS),
    )
}

/// The baseline of per-text token lengths and unknown-token rates, predicted classes
/// (indices into `labels`) and the token buckets ([`top_tokens`]; empty: no `token`
/// feature).
pub fn profile(
    lengths: &[f64],
    rates: &[f64],
    predicted: &[usize],
    labels: &[String],
    tokens: &[(String, u64)],
) -> (Statistics, Constraints) {
    let n = lengths.len();
    let mut counts = vec![0u64; labels.len()];
    for &p in predicted {
        if let Some(c) = counts.get_mut(p) {
            *c += 1;
        }
    }
    let by_label: Vec<(String, u64)> = labels.iter().cloned().zip(counts).collect();
    let mut features = vec![
        numerical("token_length", true, lengths),
        numerical("unknown_token_rate", false, rates),
        categorical(
            "predicted_label",
            predicted.len() as u64,
            n.saturating_sub(predicted.len()) as u64,
            &by_label,
        ),
    ];
    let non_negative = |name, ty| FeatureConstraints {
        num_constraints: Some(NumConstraints {
            is_non_negative: true,
        }),
        ..constraint(name, ty)
    };
    let mut constraints = vec![
        non_negative("token_length", InferredType::Integral),
        non_negative("unknown_token_rate", InferredType::Fractional),
        FeatureConstraints {
            string_constraints: Some(StringConstraints {
                domains: labels.to_vec(),
            }),
            ..constraint("predicted_label", InferredType::String)
        },
    ];
    if !tokens.is_empty() {
        let total: u64 = tokens.iter().map(|t| t.1).sum();
        features.push(categorical("token", total, 0, tokens));
        constraints.push(constraint("token", InferredType::String));
    }
    (
        Statistics {
            version: 0,
            dataset: Dataset {
                item_count: n as u64,
            },
            features,
        },
        Constraints {
            version: 0,
            features: constraints,
            monitoring_config: MonitoringConfig::default(),
        },
    )
}

/// The `k` most frequent tokens (ties by token) and then [`OTHER_TOKEN`] with the rest.
pub fn top_tokens(counts: &HashMap<String, u64>, k: usize) -> Vec<(String, u64)> {
    let mut all: Vec<(&String, &u64)> = counts.iter().collect();
    all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<(String, u64)> = all
        .iter()
        .take(k)
        .map(|(t, &c)| ((*t).clone(), c))
        .collect();
    let other: u64 = all.iter().skip(k).map(|(_, &c)| c).sum();
    out.push((OTHER_TOKEN.to_string(), other));
    out
}

/// Writes `statistics.json` and `constraints.json` into `dir` (atomically).
pub fn write(
    dir: &Path,
    stats: &Statistics,
    constraints: &Constraints,
) -> Result<(), MonitoringError> {
    crate::files::write_json(&dir.join("statistics.json"), stats)?;
    crate::files::write_json(&dir.join("constraints.json"), constraints)
}

/// One feature's baseline distribution, as the drift check compares it.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Equal-width buckets `(lower, upper, count)`.
    Numeric(Vec<(f64, f64, f64)>),
    /// `(value, count)` buckets.
    Categorical(Vec<(String, f64)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BaselineFeature {
    pub name: String,
    pub inferred_type: InferredType,
    pub distribution: Distribution,
    /// Required share of present values (constraints.json; 1.0 when absent).
    pub completeness: f64,
    /// Allowed values (string constraints' `domains`), if any.
    pub domain: Option<Vec<String>>,
}

/// A baseline as the drift check uses it: both files joined by feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub item_count: u64,
    pub features: Vec<BaselineFeature>,
    /// `distribution_constraints.comparison_threshold` (PSI / JS effect threshold).
    pub comparison_threshold: f64,
}

impl Baseline {
    /// Reads `dir/statistics.json` and, when present, `dir/constraints.json`.
    pub fn load(dir: &Path) -> Result<Baseline, MonitoringError> {
        let stats_path = dir.join("statistics.json");
        if !stats_path.is_file() {
            return Err(MonitoringError::Baseline(format!(
                "no statistics.json in {}",
                dir.display()
            )));
        }
        let stats: Statistics = crate::files::read_json(&stats_path)?;
        let constraints_path = dir.join("constraints.json");
        let constraints: Option<Constraints> = if constraints_path.is_file() {
            Some(crate::files::read_json(&constraints_path)?)
        } else {
            None
        };
        Baseline::new(&stats, constraints.as_ref())
    }

    /// Joins the statistics with their constraints.
    pub fn new(
        stats: &Statistics,
        constraints: Option<&Constraints>,
    ) -> Result<Baseline, MonitoringError> {
        let features: Vec<BaselineFeature> = stats
            .features
            .iter()
            .filter_map(|f| {
                let distribution = if let Some(n) = &f.numerical_statistics {
                    let b = &n.distribution.kll.buckets;
                    Distribution::Numeric(
                        b.iter()
                            .map(|b| (b.lower_bound, b.upper_bound, b.count))
                            .collect(),
                    )
                } else {
                    let s = f.string_statistics.as_ref()?;
                    let b = &s.distribution.categorical.buckets;
                    Distribution::Categorical(
                        b.iter().map(|b| (b.value.clone(), b.count)).collect(),
                    )
                };
                let c = constraints.and_then(|c| c.features.iter().find(|x| x.name == f.name));
                Some(BaselineFeature {
                    name: f.name.clone(),
                    inferred_type: f.inferred_type,
                    distribution,
                    completeness: c.and_then(|c| c.completeness).unwrap_or(1.0),
                    domain: c
                        .and_then(|c| c.string_constraints.as_ref().map(|s| s.domains.clone())),
                })
            })
            .collect();
        if features.is_empty() {
            return Err(MonitoringError::Baseline(
                "statistics.json has no features with a distribution".into(),
            ));
        }
        Ok(Baseline {
            item_count: stats.dataset.item_count,
            features,
            comparison_threshold: constraints.map_or(0.1, |c| {
                c.monitoring_config
                    .distribution_constraints
                    .comparison_threshold
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["neg".to_string(), "pos".to_string()]
    }

    #[test]
    fn profile_has_model_monitor_layout() {
        let (s, c) = profile(
            &[4.0, 6.0, 10.0],
            &[0.0, 1.0 / 6.0, 0.5],
            &[0, 1, 1],
            &labels(),
            &[],
        );
        let s = serde_json::to_value(&s).unwrap();
        let c = serde_json::to_value(&c).unwrap();
        assert_eq!(s["dataset"]["item_count"], 3);
        let f = &s["features"][0]["numerical_statistics"];
        assert_eq!(f["mean"], 20.0 / 3.0);
        assert_eq!(f["min"], 4.0);
        assert_eq!(f["max"], 10.0);
        let total: f64 = f["distribution"]["kll"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_f64().unwrap())
            .sum();
        assert_eq!(total, 3.0);
        assert_eq!(s["features"][0]["inferred_type"], "Integral");
        assert_eq!(s["features"][1]["numerical_statistics"]["max"], 0.5);
        assert_eq!(
            s["features"][2]["string_statistics"]["distribution"]["categorical"]["buckets"][1]
                ["count"],
            2.0
        );
        assert_eq!(
            c["monitoring_config"]["distribution_constraints"]["comparison_threshold"],
            0.1
        );
        assert_eq!(c["features"][2]["string_constraints"]["domains"][0], "neg");
    }

    #[test]
    fn token_feature_keeps_the_top_tokens_and_an_other_bucket() {
        let counts: HashMap<String, u64> = [
            ("[CLS]", 2),
            ("[SEP]", 2),
            ("love", 2),
            ("dress", 1),
            ("fit", 1),
            ("#4", 1),
        ]
        .into_iter()
        .map(|(t, c)| (t.to_string(), c))
        .collect();
        let top = top_tokens(&counts, 3);
        // [CLS], [SEP] and love twice (ties by token), then dress, fit and #4 as other.
        assert_eq!(
            top,
            vec![
                ("[CLS]".to_string(), 2),
                ("[SEP]".to_string(), 2),
                ("love".to_string(), 2),
                (OTHER_TOKEN.to_string(), 3),
            ]
        );
        let (s, c) = profile(&[4.0, 5.0], &[0.0, 0.0], &[0, 1], &labels(), &top);
        let f = &s.features[3];
        assert_eq!(f.name, "token");
        let strings = f.string_statistics.as_ref().unwrap();
        let buckets = &strings.distribution.categorical.buckets;
        assert_eq!(buckets.len(), 4);
        assert_eq!(
            (buckets[3].value.as_str(), buckets[3].count),
            (OTHER_TOKEN, 3.0)
        );
        assert_eq!(strings.common.num_present, 9);
        assert_eq!(c.features[3].name, "token");
        assert!(c.features[3].string_constraints.is_none());
    }

    #[test]
    fn files_round_trip_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let top = top_tokens(&[("a".to_string(), 3)].into_iter().collect(), 5);
        let (s, c) = profile(
            &[4.0, 5.0, 9.0],
            &[0.0, 0.2, 0.0],
            &[0, 1, 1],
            &labels(),
            &top,
        );
        write(dir.path(), &s, &c).unwrap();
        let s2: Statistics = crate::files::read_json(&dir.path().join("statistics.json")).unwrap();
        let c2: Constraints =
            crate::files::read_json(&dir.path().join("constraints.json")).unwrap();
        assert_eq!((s2, c2), (s, c));
        let b = Baseline::load(dir.path()).unwrap();
        assert_eq!(b.item_count, 3);
        assert_eq!(b.features.len(), 4);
        assert_eq!(b.features[2].domain.as_deref(), Some(&labels()[..]));
        assert_eq!(b.comparison_threshold, 0.1);
        let missing = Baseline::load(&dir.path().join("nope")).unwrap_err();
        assert!(
            missing.to_string().contains("no statistics.json"),
            "{missing}"
        );
    }

    #[test]
    fn a_model_monitor_baseline_reads() {
        // As SageMaker's suggest_baseline writes them: a sketch, numbers as categories,
        // constraints without a monitoring config.
        let stats = r#"{"version":0,"dataset":{"item_count":2},"features":[
            {"name":"f0","inferred_type":"Fractional","numerical_statistics":{"common":{"num_present":2,"num_missing":0},"mean":1.5,"sum":3.0,"std_dev":0.5,"min":1.0,"max":2.0,
              "distribution":{"kll":{"buckets":[{"lower_bound":1.0,"upper_bound":1.5,"count":1.0},{"lower_bound":1.5,"upper_bound":2.0,"count":1.0}],"sketch":{"parameters":{"c":0.64,"k":2048.0},"data":[[1.0,2.0]]}}}}},
            {"name":"f1","inferred_type":"String","string_statistics":{"common":{"num_present":2,"num_missing":0},"distinct_count":2.0,"distribution":{"categorical":{"buckets":[{"value":1,"count":1},{"value":"b","count":1}]}}}}]}"#;
        let constraints = r#"{"version":0,"features":[{"name":"f1","inferred_type":"String","completeness":0.5,"string_constraints":{"domains":["1","b"]}}]}"#;
        let s: Statistics = serde_json::from_str(stats).unwrap();
        let c: Constraints = serde_json::from_str(constraints).unwrap();
        let b = Baseline::new(&s, Some(&c)).unwrap();
        assert_eq!(
            b.features[1].distribution,
            Distribution::Categorical(vec![("1".into(), 1.0), ("b".into(), 1.0)])
        );
        assert_eq!(b.features[1].completeness, 0.5);
        assert_eq!(b.comparison_threshold, 0.1);
        // The sketch survives a round trip.
        let again: Statistics = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }
}
