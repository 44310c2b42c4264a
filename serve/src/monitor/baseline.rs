//! Reading a Model Monitor `statistics.json` / `constraints.json` pair.
use super::MonitorError;
use serde_json::Value;
use std::path::Path;

/// One feature's baseline distribution.
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
    pub inferred_type: String,
    pub distribution: Distribution,
    /// Required share of present values (constraints.json; 1.0 when absent).
    pub completeness: f64,
    /// Allowed values (string constraints' `domains`), if any.
    pub domain: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub item_count: u64,
    pub features: Vec<BaselineFeature>,
    /// `distribution_constraints.comparison_threshold` (PSI / JS effect threshold).
    pub comparison_threshold: f64,
}

impl Baseline {
    /// Reads `dir/statistics.json` and, when present, `dir/constraints.json`.
    pub fn load(dir: &Path) -> Result<Baseline, MonitorError> {
        let read = |name: &str| -> Result<Option<Value>, MonitorError> {
            let p = dir.join(name);
            match std::fs::read(&p) {
                Ok(b) => Ok(Some(serde_json::from_slice(&b).map_err(|e| {
                    MonitorError::Baseline(format!("{}: {e}", p.display()))
                })?)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        };
        let stats = read("statistics.json")?.ok_or_else(|| {
            MonitorError::Baseline(format!("no statistics.json in {}", dir.display()))
        })?;
        Baseline::from_json(&stats, read("constraints.json")?.as_ref())
    }

    pub fn from_json(stats: &Value, constraints: Option<&Value>) -> Result<Baseline, MonitorError> {
        let f64_of = |v: &Value| v.as_f64().unwrap_or(0.0);
        let mut features = Vec::new();
        for f in stats["features"].as_array().into_iter().flatten() {
            let name = f["name"].as_str().unwrap_or_default().to_string();
            let ty = f["inferred_type"].as_str().unwrap_or("String").to_string();
            let distribution = if let Some(n) = f.get("numerical_statistics") {
                let buckets = n["distribution"]["kll"]["buckets"]
                    .as_array()
                    .ok_or_else(|| MonitorError::Baseline(format!("{name}: no kll buckets")))?;
                Distribution::Numeric(
                    buckets
                        .iter()
                        .map(|b| {
                            (
                                f64_of(&b["lower_bound"]),
                                f64_of(&b["upper_bound"]),
                                f64_of(&b["count"]),
                            )
                        })
                        .collect(),
                )
            } else if let Some(s) = f.get("string_statistics") {
                let buckets = s["distribution"]["categorical"]["buckets"]
                    .as_array()
                    .ok_or_else(|| {
                        MonitorError::Baseline(format!("{name}: no categorical buckets"))
                    })?;
                Distribution::Categorical(
                    buckets
                        .iter()
                        .map(|b| {
                            let v = match &b["value"] {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (v, f64_of(&b["count"]))
                        })
                        .collect(),
                )
            } else {
                continue;
            };
            let c = constraints.and_then(|c| {
                c["features"]
                    .as_array()
                    .and_then(|fs| fs.iter().find(|x| x["name"] == name.as_str()))
            });
            features.push(BaselineFeature {
                completeness: c.and_then(|c| c["completeness"].as_f64()).unwrap_or(1.0),
                domain: c.and_then(|c| {
                    c["string_constraints"]["domains"].as_array().map(|d| {
                        d.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                }),
                name,
                inferred_type: ty,
                distribution,
            });
        }
        if features.is_empty() {
            return Err(MonitorError::Baseline(
                "statistics.json has no features".into(),
            ));
        }
        Ok(Baseline {
            item_count: stats["dataset"]["item_count"].as_u64().unwrap_or(0),
            features,
            comparison_threshold: constraints
                .and_then(|c| {
                    c["monitoring_config"]["distribution_constraints"]["comparison_threshold"]
                        .as_f64()
                })
                .unwrap_or(0.1),
        })
    }
}
