//! Data validation before training: schema, completeness, class balance (statistical
//! bias) and duplicates. Each check reports its numbers; a failed check names the column
//! and the numbers.
use crate::data::{DataConfig, Dataset, DropCounts, LabelMapping, Table};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationConfig {
    /// Largest share of rows with an empty text or label cell.
    pub max_missing_share: f64,
    /// Largest ratio between the most and the least frequent class.
    pub max_imbalance_ratio: f64,
    /// Smallest share any class may have.
    pub min_class_share: f64,
    /// Largest share of rows whose text repeats an earlier row's text.
    pub max_duplicate_share: f64,
    /// Fewest usable rows.
    pub min_rows: usize,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            max_missing_share: 0.10,
            max_imbalance_ratio: 20.0,
            min_class_share: 0.02,
            max_duplicate_share: 0.10,
            min_rows: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub message: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationReport {
    pub passed: bool,
    pub rows: usize,
    pub checks: Vec<Check>,
    pub drops: Option<DropCounts>,
}

impl ValidationReport {
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }

    pub fn summary(&self) -> String {
        self.checks
            .iter()
            .map(|c| {
                format!(
                    "[{}] {}: {}",
                    if c.passed { "ok" } else { "FAIL" },
                    c.name,
                    c.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn check(name: &str, passed: bool, message: String, details: serde_json::Value) -> Check {
    Check {
        name: name.into(),
        passed,
        message,
        details,
    }
}

/// Validates a table against the data configuration. `dataset` is the table turned into
/// classes (absent when that failed, e.g. a missing column: the schema check says why).
pub fn validate(
    table: &Table,
    cfg: &DataConfig,
    dataset: Option<(&Dataset, &DropCounts)>,
    vc: &ValidationConfig,
) -> ValidationReport {
    let mut checks = Vec::new();
    let n = table.rows.len();

    // Schema: required columns present; label values of the right type.
    // The body (last text column) and the label are required; leading text columns are
    // optional extras.
    let required: Vec<&String> = cfg
        .text_columns
        .last()
        .into_iter()
        .chain([&cfg.label_column])
        .collect();
    let missing: Vec<&&String> = required
        .iter()
        .filter(|c| !table.columns.contains(c))
        .collect();
    let mut schema_ok = missing.is_empty();
    let mut schema_msg = if schema_ok {
        format!("required columns present: {required:?}")
    } else {
        format!(
            "missing column(s) {missing:?}; the file has {:?}",
            table.columns
        )
    };
    let mut type_details = serde_json::Value::Null;
    if schema_ok && cfg.mapping == LabelMapping::Sentiment {
        let li = table
            .columns
            .iter()
            .position(|c| c == &cfg.label_column)
            .unwrap_or(0);
        let non_int = table
            .rows
            .iter()
            .filter_map(|r| r.get(li).and_then(|v| v.as_deref()))
            .filter(|v| v.trim().parse::<i64>().is_err())
            .count();
        type_details =
            serde_json::json!({"column": cfg.label_column, "non_integer_values": non_int});
        if non_int > 0 {
            schema_ok = false;
            schema_msg = format!(
                "column {:?} should hold integer ratings but {non_int} value(s) are not integers",
                cfg.label_column
            );
        }
    }
    checks.push(check(
        "schema",
        schema_ok,
        schema_msg,
        serde_json::json!({"columns": table.columns, "required": required, "label_type": type_details}),
    ));

    // Completeness, per column.
    let mut per_col = serde_json::Map::new();
    let mut worst: Option<(String, f64, usize)> = None;
    for (ci, name) in table.columns.iter().enumerate() {
        let miss = table
            .rows
            .iter()
            .filter(|r| r.get(ci).map(|v| v.is_none()).unwrap_or(true))
            .count();
        let share = if n == 0 { 0.0 } else { miss as f64 / n as f64 };
        per_col.insert(
            name.clone(),
            serde_json::json!({"missing": miss, "share": share}),
        );
        // Extra text columns (e.g. a title before the body) may be empty; the body (the last
        // text column) and the label may not.
        let gated = Some(name) == cfg.text_columns.last() || name == &cfg.label_column;
        if gated && worst.as_ref().is_none_or(|w| share > w.1) {
            worst = Some((name.clone(), share, miss));
        }
    }
    let (wc, ws, wm) = worst.unwrap_or_default();
    let complete_ok = ws <= vc.max_missing_share;
    checks.push(check(
        "completeness",
        complete_ok,
        if complete_ok {
            format!(
                "worst required column {wc:?}: {wm} of {n} missing ({:.1}%)",
                ws * 100.0
            )
        } else {
            format!(
                "column {wc:?} has {wm} of {n} values missing ({:.1}%), above the {:.1}% threshold",
                ws * 100.0,
                vc.max_missing_share * 100.0
            )
        },
        serde_json::Value::Object(per_col),
    ));

    if let Some((ds, drops)) = dataset {
        // Row count.
        let rows_ok = ds.len() >= vc.min_rows;
        checks.push(check(
            "row_count",
            rows_ok,
            format!("{} usable rows (minimum {})", ds.len(), vc.min_rows),
            serde_json::json!({"usable": ds.len(), "dropped": drops}),
        ));

        // Class balance / statistical bias.
        let counts = ds.class_counts();
        let total = ds.len().max(1) as f64;
        let shares: Vec<f64> = counts.iter().map(|&c| c as f64 / total).collect();
        let max = *counts.iter().max().unwrap_or(&0) as f64;
        let min = *counts.iter().min().unwrap_or(&0) as f64;
        let ratio = if min == 0.0 { f64::INFINITY } else { max / min };
        let (smallest_i, smallest) =
            shares
                .iter()
                .enumerate()
                .fold((0, f64::MAX), |b, (i, &s)| if s < b.1 { (i, s) } else { b });
        let balance_ok = ratio <= vc.max_imbalance_ratio && smallest >= vc.min_class_share;
        let dist: serde_json::Map<String, serde_json::Value> = ds
            .label_names
            .iter()
            .zip(counts.iter().zip(&shares))
            .map(|(l, (c, s))| (l.clone(), serde_json::json!({"count": c, "share": s})))
            .collect();
        checks.push(check(
            "class_balance",
            balance_ok,
            if balance_ok {
                format!("imbalance ratio {ratio:.2} (max {}), smallest class {:?} at {:.1}%", vc.max_imbalance_ratio, ds.label_names[smallest_i], smallest * 100.0)
            } else {
                format!(
                    "class {:?} has {} rows ({:.1}%); imbalance ratio {ratio:.2} (max {}, smallest share allowed {:.1}%)",
                    ds.label_names[smallest_i],
                    counts[smallest_i],
                    smallest * 100.0,
                    vc.max_imbalance_ratio,
                    vc.min_class_share * 100.0
                )
            },
            serde_json::json!({"classes": dist, "imbalance_ratio": if ratio.is_finite() { serde_json::json!(ratio) } else { serde_json::Value::Null }}),
        ));

        // Duplicate texts.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut dups = 0;
        for t in &ds.texts {
            let e = seen.entry(t.as_str()).or_insert(0);
            if *e > 0 {
                dups += 1;
            }
            *e += 1;
        }
        let dshare = dups as f64 / total;
        let dup_ok = dshare <= vc.max_duplicate_share;
        checks.push(check(
            "duplicates",
            dup_ok,
            format!(
                "{dups} of {} texts repeat an earlier text ({:.1}%, max {:.1}%)",
                ds.len(),
                dshare * 100.0,
                vc.max_duplicate_share * 100.0
            ),
            serde_json::json!({"duplicates": dups, "share": dshare}),
        ));
    }
    ValidationReport {
        passed: checks.iter().all(|c| c.passed),
        rows: n,
        checks,
        drops: dataset.map(|(_, d)| d.clone()),
    }
}
