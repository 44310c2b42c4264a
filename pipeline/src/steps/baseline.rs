//! baseline: statistics of the model's inputs and outputs over the training split, for
//! the drift monitor, in SageMaker Model Monitor's `statistics.json` / `constraints.json`
//! layout. Features: `token_length` (tokens before truncation), `unknown_token_rate`
//! (share of unknown tokens), `predicted_label` and `token` (the vocabulary distribution:
//! the training split's [`TOP_TOKENS`] most frequent tokens plus an `__other__` bucket).
//! Tokens are counted over the whole text (not truncated), special tokens included, and
//! named by the tokenizer.json vocabulary (`#id` where an id has no entry) — the way the
//! drift monitor (`serve::monitor`) profiles captured traffic.
use super::{read_split, write_json, DeviceConfig, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{json, Value};
use std::collections::HashMap;

const BUCKETS: usize = 10;
const CHUNK: usize = 256;
/// Tokens kept by name in the `token` feature; the rest are `__other__`.
pub const TOP_TOKENS: usize = 50;
/// The bucket of every token outside the baseline's top tokens.
pub const OTHER_TOKEN: &str = "__other__";
/// Longest text tokenized for the token features (effectively no truncation).
const FULL_LEN: usize = 100_000;

/// id → token of a tokenizer.json (see [`models::tokenizer::vocab_table`]).
pub use models::tokenizer::vocab_table as tokenizer_vocab;

/// Adds the tokens of `ids` to `counts`, named by `vocab` (`#id` when unnamed).
pub fn count_tokens(counts: &mut HashMap<String, u64>, ids: &[i64], vocab: &[String]) {
    for &id in ids {
        match usize::try_from(id)
            .ok()
            .and_then(|i| vocab.get(i))
            .filter(|s| !s.is_empty())
        {
            Some(t) => match counts.get_mut(t.as_str()) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(t.clone(), 1);
                }
            },
            None => *counts.entry(format!("#{id}")).or_default() += 1,
        }
    }
}

/// The `k` most frequent tokens (ties by token) and then `__other__` with the rest.
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

fn numerical(name: &str, integral: bool, xs: &[f64]) -> Value {
    let n = xs.len();
    let sum: f64 = xs.iter().sum();
    let mean = if n == 0 { 0.0 } else { sum / n as f64 };
    let var = if n == 0 {
        0.0
    } else {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64
    };
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (min, max) = if n == 0 { (0.0, 0.0) } else { (min, max) };
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
    let buckets: Vec<Value> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            json!({"lower_bound": min + width * i as f64, "upper_bound": min + width * (i + 1) as f64, "count": c})
        })
        .collect();
    json!({
        "name": name,
        "inferred_type": if integral { "Integral" } else { "Fractional" },
        "numerical_statistics": {
            "common": {"num_present": n, "num_missing": 0},
            "mean": mean, "sum": sum, "std_dev": var.sqrt(), "min": min, "max": max,
            "distribution": {"kll": {"buckets": buckets}},
        },
    })
}

/// `(statistics.json, constraints.json)` from per-text token lengths, unknown-token counts,
/// predicted classes and the token buckets ([`top_tokens`]; empty: no `token` feature).
pub fn profile(
    token_lengths: &[usize],
    unknown: &[usize],
    predicted: &[usize],
    labels: &[String],
    tokens: &[(String, u64)],
) -> (Value, Value) {
    let n = token_lengths.len();
    let lengths: Vec<f64> = token_lengths.iter().map(|&l| l as f64).collect();
    let rates: Vec<f64> = token_lengths
        .iter()
        .zip(unknown)
        .map(|(&l, &u)| if l == 0 { 0.0 } else { u as f64 / l as f64 })
        .collect();
    let mut counts = vec![0usize; labels.len()];
    for &p in predicted {
        if p < counts.len() {
            counts[p] += 1;
        }
    }
    let buckets: Vec<Value> = labels
        .iter()
        .zip(&counts)
        .map(|(l, c)| json!({"value": l, "count": c}))
        .collect();
    let mut statistics = json!({
        "version": 0,
        "dataset": {"item_count": n},
        "features": [
            numerical("token_length", true, &lengths),
            numerical("unknown_token_rate", false, &rates),
            {
                "name": "predicted_label",
                "inferred_type": "String",
                "string_statistics": {
                    "common": {"num_present": predicted.len(), "num_missing": n.saturating_sub(predicted.len())},
                    "distinct_count": counts.iter().filter(|&&c| c > 0).count(),
                    "distribution": {"categorical": {"buckets": buckets}},
                },
            },
        ],
    });
    let mut constraints = json!({
        "version": 0,
        "features": [
            {"name": "token_length", "inferred_type": "Integral", "completeness": 1.0, "num_constraints": {"is_non_negative": true}},
            {"name": "unknown_token_rate", "inferred_type": "Fractional", "completeness": 1.0, "num_constraints": {"is_non_negative": true}},
            {"name": "predicted_label", "inferred_type": "String", "completeness": 1.0, "string_constraints": {"domains": labels}},
        ],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": 0.1,
                "categorical_drift_method": "LInfinity",
            },
        },
    });
    if !tokens.is_empty() {
        let total: u64 = tokens.iter().map(|t| t.1).sum();
        let buckets: Vec<Value> = tokens
            .iter()
            .map(|(t, c)| json!({"value": t, "count": c}))
            .collect();
        if let Some(fs) = statistics["features"].as_array_mut() {
            fs.push(json!({
                "name": "token",
                "inferred_type": "String",
                "string_statistics": {
                    "common": {"num_present": total, "num_missing": 0},
                    "distinct_count": tokens.len(),
                    "distribution": {"categorical": {"buckets": buckets}},
                },
            }));
        }
        if let Some(fs) = constraints["features"].as_array_mut() {
            fs.push(json!({"name": "token", "inferred_type": "String", "completeness": 1.0}));
        }
    }
    (statistics, constraints)
}

pub(super) fn run(ctx: &StepContext, cfg: &DeviceConfig) -> Result<StepOutcome> {
    let dev = cfg.resolve(ctx)?;
    let predictor = models::Predictor::load(ctx.input("model")?, dev)?;
    let vocab =
        tokenizer_vocab(&ctx.input("model")?.join(models::artifact::TOKENIZER)).unwrap_or_default();
    let ds = read_split(ctx.input("train")?)?;
    let (mut lengths, mut unknown, mut predicted) = (Vec::new(), Vec::new(), Vec::new());
    let mut tokens: HashMap<String, u64> = HashMap::new();
    let tokenizer = &predictor.model().tokenizer;
    for chunk in ds.texts.chunks(CHUNK) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        // Untruncated, as the monitor sees captured texts; the model gets its own encoding.
        for e in tokenizer.encode_batch(&texts, FULL_LEN)? {
            lengths.push(e.full_len);
            unknown.push(e.unknown);
            count_tokens(&mut tokens, &e.ids, &vocab);
        }
        let enc = predictor.encode(&texts)?;
        let seqs: Vec<&[i64]> = enc.iter().map(|e| e.ids.as_slice()).collect();
        for p in predictor.predict_encoded(&seqs)? {
            predicted.push(p?.label_index);
        }
    }
    let (stats, constraints) = profile(
        &lengths,
        &unknown,
        &predicted,
        predictor.labels(),
        &top_tokens(&tokens, TOP_TOKENS),
    );
    let out = ctx.output_dir("baseline")?;
    write_json(&out.join("statistics.json"), &stats)?;
    write_json(&out.join("constraints.json"), &constraints)?;
    ctx.log(format!(
        "baseline over {} training texts of model {}",
        ds.len(),
        predictor.version()
    ));
    Ok(StepOutcome {
        properties: json!({"item_count": ds.len(), "model_version": predictor.version()}),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_has_model_monitor_layout() {
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let (s, c) = profile(&[4, 6, 10], &[0, 1, 5], &[0, 1, 1], &labels, &[]);
        assert_eq!(s["dataset"]["item_count"], 3);
        let f = &s["features"][0]["numerical_statistics"];
        assert_eq!(f["mean"], 20.0 / 3.0);
        assert_eq!(f["min"], 4.0);
        assert_eq!(f["max"], 10.0);
        let total: u64 = f["distribution"]["kll"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, 3);
        assert_eq!(s["features"][1]["numerical_statistics"]["max"], 0.5);
        assert_eq!(
            s["features"][2]["string_statistics"]["distribution"]["categorical"]["buckets"][1]
                ["count"],
            2
        );
        assert_eq!(
            c["monitoring_config"]["distribution_constraints"]["comparison_threshold"],
            0.1
        );
        assert_eq!(c["features"][2]["string_constraints"]["domains"][0], "neg");
    }

    #[test]
    fn token_feature_keeps_the_top_tokens_and_an_other_bucket() {
        let vocab: Vec<String> = ["[CLS]", "[SEP]", "dress", "love", "", "fit"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut counts = HashMap::new();
        count_tokens(&mut counts, &[0, 3, 2, 1], &vocab);
        count_tokens(&mut counts, &[0, 3, 5, 4, 1], &vocab);
        assert_eq!(counts["#4"], 1);
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
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let (s, c) = profile(&[4, 5], &[0, 0], &[0, 1], &labels, &top);
        let f = &s["features"][3];
        assert_eq!(f["name"], "token");
        let buckets = f["string_statistics"]["distribution"]["categorical"]["buckets"]
            .as_array()
            .unwrap();
        assert_eq!(buckets.len(), 4);
        assert_eq!(buckets[3]["value"], OTHER_TOKEN);
        assert_eq!(buckets[3]["count"], 3);
        assert_eq!(f["string_statistics"]["common"]["num_present"], 9);
        assert_eq!(c["features"][3]["name"], "token");
        assert!(c["features"][3].get("string_constraints").is_none());
    }
}
