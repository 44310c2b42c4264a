//! baseline: statistics of the model's inputs and outputs over the training split, for
//! the drift monitor, in SageMaker Model Monitor's `statistics.json` / `constraints.json`
//! layout. Features: `token_length` (tokens before truncation), `unknown_token_rate`
//! (share of unknown tokens) and `predicted_label`.
use super::{device, read_split, write_json, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{json, Value};

const BUCKETS: usize = 10;
const CHUNK: usize = 256;

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

/// `(statistics.json, constraints.json)` from per-text token lengths, unknown-token counts
/// and predicted classes.
pub fn profile(
    token_lengths: &[usize],
    unknown: &[usize],
    predicted: &[usize],
    labels: &[String],
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
    let statistics = json!({
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
    let constraints = json!({
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
    (statistics, constraints)
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    let dev = device(&ctx.config).map_err(|m| ctx.fail(m))?;
    let predictor = models::Predictor::load(ctx.input("model")?, dev)?;
    let ds = read_split(ctx.input("train")?)?;
    let (mut lengths, mut unknown, mut predicted) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in ds.texts.chunks(CHUNK) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let enc = predictor.encode(&texts)?;
        let seqs: Vec<&[i64]> = enc.iter().map(|e| e.ids.as_slice()).collect();
        for (e, p) in enc.iter().zip(predictor.predict_encoded(&seqs)?) {
            lengths.push(e.full_len);
            unknown.push(e.unknown);
            predicted.push(p?.label_index);
        }
    }
    let (stats, constraints) = profile(&lengths, &unknown, &predicted, predictor.labels());
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
        let (s, c) = profile(&[4, 6, 10], &[0, 1, 5], &[0, 1, 1], &labels);
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
}
