//! Search spaces: hyperparameter distributions read from TOML and checked against the
//! architecture's hyperparameters.
//!
//! ```toml
//! architecture = "fasttext"          # or "transformer"; optional, fasttext by default
//!
//! [objective]                        # optional; the command line can override it
//! metric = "balanced_accuracy"       # balanced_accuracy, macro_f1, accuracy or loss
//! goal = "maximize"                  # or "minimize"; by default what suits the metric
//!
//! [asha]                             # optional: successive-halving rungs
//! min_epochs = 1
//! eta = 3
//!
//! [params.learning_rate]
//! kind = "log_uniform"               # uniform, log_uniform, int or categorical
//! low = 0.001
//! high = 0.03
//!
//! [params.balance]
//! kind = "categorical"
//! values = ["class_weights", "downsample"]
//! ```
use super::objective::Objective;
use super::params::{self, ParamType, ParamValue, Params};
use crate::error::{Result, TrainError};
use crate::trainer::{Architecture, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The distribution of one hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform in [low, high).
    Uniform { low: f64, high: f64 },
    /// Log-uniform in [low, high), low > 0.
    LogUniform { low: f64, high: f64 },
    /// Integers in [low, high], uniform or (with `log`) log-uniform.
    Int { low: i64, high: i64, log: bool },
    /// One of the listed values.
    Categorical { values: Vec<ParamValue> },
}

/// Successive-halving settings: rungs at `min_epochs * eta^k` epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AshaConfig {
    pub min_epochs: usize,
    pub eta: usize,
}

impl Default for AshaConfig {
    fn default() -> Self {
        AshaConfig {
            min_epochs: 1,
            eta: 3,
        }
    }
}

/// A checked search space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    pub architecture: Architecture,
    /// Hyperparameters by name, in name order.
    pub params: BTreeMap<String, Distribution>,
    /// The objective named in the file, if any.
    pub objective: Option<Objective>,
    pub asha: AshaConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    architecture: Option<String>,
    checkpoint: Option<PathBuf>,
    objective: Option<RawObjective>,
    asha: Option<AshaConfig>,
    #[serde(default)]
    params: BTreeMap<String, RawParam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    metric: String,
    goal: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    kind: String,
    low: Option<toml::Value>,
    high: Option<toml::Value>,
    log: Option<bool>,
    values: Option<Vec<toml::Value>>,
}

impl SearchSpace {
    /// Reads and checks a search-space file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::parse(&text).map_err(|message| TrainError::Space {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks a search space; the error is a message naming the parameter.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        Self::check(toml::from_str(text).map_err(|e| e.to_string())?)
    }

    /// A search space given as a JSON value of the file's shape (a pipeline step's
    /// `space` table).
    pub fn from_json(v: serde_json::Value) -> std::result::Result<Self, String> {
        Self::check(serde_json::from_value(v).map_err(|e| e.to_string())?)
    }

    fn check(raw: RawSpace) -> std::result::Result<Self, String> {
        let architecture = match (raw.architecture.as_deref(), raw.checkpoint) {
            (None | Some("fasttext"), None) => Architecture::FastText,
            (Some("transformer"), None) => Architecture::Transformer,
            (Some("bert"), Some(checkpoint)) => Architecture::Bert { checkpoint },
            (Some("bert"), None) => {
                return Err("architecture \"bert\" needs checkpoint = \"DIR\"".into())
            }
            (Some(a @ ("fasttext" | "transformer")), Some(_)) => {
                return Err(format!(
                    "checkpoint is only for architecture \"bert\", not {a:?}"
                ))
            }
            (Some(a), _) => {
                return Err(format!(
                    "unknown architecture {a:?} (expected fasttext, transformer or bert)"
                ))
            }
            (None, Some(_)) => return Err("checkpoint needs architecture = \"bert\"".into()),
        };
        if raw.params.is_empty() {
            return Err(
                "no hyperparameters to search: add at least one [params.NAME] table".into(),
            );
        }
        let asha = raw.asha.unwrap_or_default();
        if asha.min_epochs == 0 || asha.eta < 2 {
            return Err(format!(
                "[asha] needs min_epochs >= 1 and eta >= 2, got min_epochs = {} and eta = {}",
                asha.min_epochs, asha.eta
            ));
        }
        let objective = match raw.objective {
            None => None,
            Some(o) => Some(Objective::parse(&o.metric, o.goal.as_deref())?),
        };
        let mut out = BTreeMap::new();
        for (name, p) in raw.params {
            let ty = params::param_type(&architecture, &name)?;
            let d = distribution(&name, ty, p)?;
            check_bounds(&architecture, &name, &d)?;
            out.insert(name, d);
        }
        Ok(SearchSpace {
            architecture,
            params: out,
            objective,
            asha,
        })
    }

    /// The default training settings of this space's architecture.
    pub fn base_config(&self) -> TrainConfig {
        TrainConfig::for_architecture(self.architecture.clone())
    }

    /// Whether `p` names exactly this space's parameters, each within its distribution.
    pub fn contains(&self, p: &Params) -> bool {
        p.len() == self.params.len()
            && self
                .params
                .iter()
                .all(|(n, d)| p.get(n).is_some_and(|v| d.contains(v)))
    }
}

impl Distribution {
    /// Whether a value could have been drawn from this distribution.
    pub fn contains(&self, v: &ParamValue) -> bool {
        match (self, v) {
            (Distribution::Uniform { low, high } | Distribution::LogUniform { low, high }, v) => {
                v.as_f64().is_some_and(|x| x >= *low && x < *high)
            }
            (Distribution::Int { low, high, .. }, ParamValue::Int(x)) => x >= low && x <= high,
            (Distribution::Categorical { values }, v) => values.contains(v),
            _ => false,
        }
    }
}

fn number(name: &str, what: &str, v: Option<toml::Value>) -> std::result::Result<f64, String> {
    match v {
        Some(toml::Value::Float(f)) if f.is_finite() => Ok(f),
        Some(toml::Value::Integer(i)) => Ok(i as f64),
        Some(other) => Err(format!("{name}: {what} must be a number, got {other}")),
        None => Err(format!("{name}: {what} is missing")),
    }
}

fn integer(name: &str, what: &str, v: Option<toml::Value>) -> std::result::Result<i64, String> {
    match v {
        Some(toml::Value::Integer(i)) => Ok(i),
        Some(other) => Err(format!("{name}: {what} must be an integer, got {other}")),
        None => Err(format!("{name}: {what} is missing")),
    }
}

fn distribution(
    name: &str,
    ty: ParamType,
    p: RawParam,
) -> std::result::Result<Distribution, String> {
    let no = |field: &str, present: bool| -> std::result::Result<(), String> {
        if present {
            Err(format!("{name}: kind {:?} takes no {field}", p.kind))
        } else {
            Ok(())
        }
    };
    match p.kind.as_str() {
        "uniform" | "log_uniform" => {
            no("values", p.values.is_some())?;
            no("log (use kind = \"log_uniform\")", p.log.is_some())?;
            if ty != ParamType::Float {
                return Err(format!(
                    "{name} is {}: use kind = \"int\" or \"categorical\"",
                    ty.describe()
                ));
            }
            let (low, high) = (number(name, "low", p.low)?, number(name, "high", p.high)?);
            if low >= high {
                return Err(format!(
                    "{name}: empty range, low ({low}) must be below high ({high})"
                ));
            }
            if p.kind == "uniform" {
                Ok(Distribution::Uniform { low, high })
            } else if low <= 0.0 {
                Err(format!("{name}: log_uniform needs low > 0, got {low}"))
            } else {
                Ok(Distribution::LogUniform { low, high })
            }
        }
        "int" => {
            no("values", p.values.is_some())?;
            if ty != ParamType::Int {
                return Err(format!(
                    "{name} is {}: use kind = {}",
                    ty.describe(),
                    if ty == ParamType::Float {
                        "\"uniform\" or \"log_uniform\""
                    } else {
                        "\"categorical\""
                    }
                ));
            }
            let (low, high) = (integer(name, "low", p.low)?, integer(name, "high", p.high)?);
            let log = p.log.unwrap_or(false);
            if low > high {
                return Err(format!(
                    "{name}: empty range, low ({low}) is above high ({high})"
                ));
            }
            if log && low <= 0 {
                return Err(format!("{name}: log = true needs low > 0, got {low}"));
            }
            Ok(Distribution::Int { low, high, log })
        }
        "categorical" => {
            no("low", p.low.is_some())?;
            no("high", p.high.is_some())?;
            no("log", p.log.is_some())?;
            let values = p
                .values
                .ok_or_else(|| format!("{name}: categorical needs values = [...]"))?;
            if values.is_empty() {
                return Err(format!("{name}: values is empty"));
            }
            let mut out: Vec<ParamValue> = Vec::new();
            for v in values {
                let v = ty.value_from_toml(name, v)?;
                if out.contains(&v) {
                    return Err(format!("{name}: value {v} is listed twice"));
                }
                out.push(v);
            }
            Ok(Distribution::Categorical { values: out })
        }
        other => Err(format!(
            "{name}: unknown kind {other:?} (expected uniform, log_uniform, int or categorical)"
        )),
    }
}

/// Applies each end of the range to the default settings and asks the trainer whether it
/// would accept them, so that `dropout = 1.5` fails when the file is read, not mid-search.
fn check_bounds(
    arch: &Architecture,
    name: &str,
    d: &Distribution,
) -> std::result::Result<(), String> {
    let ends: Vec<ParamValue> = match d {
        Distribution::Uniform { low, high } | Distribution::LogUniform { low, high } => {
            // The high end is excluded: check the largest value below it.
            vec![ParamValue::Float(*low), ParamValue::Float(high.next_down())]
        }
        Distribution::Int { low, high, .. } => vec![ParamValue::Int(*low), ParamValue::Int(*high)],
        Distribution::Categorical { values } => values.clone(),
    };
    for v in ends {
        let mut cfg = TrainConfig::for_architecture(Architecture::FastText);
        if let Architecture::Transformer = arch {
            cfg = TrainConfig::for_architecture(arch.clone());
        }
        params::apply_one(&mut cfg, name, &v)?;
        cfg.check().map_err(|e| format!("{name} = {v}: {e}"))?;
        params::check_value(name, &v)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "space_tests.rs"]
mod tests;
