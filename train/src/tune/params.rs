//! Hyperparameter values and how they set a [`TrainConfig`].
use crate::split::Balance;
use crate::trainer::{Architecture, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One hyperparameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// A trial's hyperparameters by name.
pub type Params = BTreeMap<String, ParamValue>;

impl ParamValue {
    /// The value as a number (integers included).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x:.4e}"),
            ParamValue::Str(s) => write!(f, "{s}"),
        }
    }
}

/// What values a hyperparameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Float,
    Int,
    Bool,
    /// One of the listed names.
    Choice(&'static [&'static str]),
}

const BALANCES: &[&str] = &["none", "downsample", "class_weights"];

impl ParamType {
    pub fn describe(self) -> String {
        match self {
            ParamType::Float => "a real number".into(),
            ParamType::Int => "an integer".into(),
            ParamType::Bool => "true or false".into(),
            ParamType::Choice(c) => format!("one of {c:?}"),
        }
    }

    /// A categorical value from the file, of this type.
    pub fn value_from_toml(self, name: &str, v: toml::Value) -> Result<ParamValue, String> {
        match (self, v) {
            (ParamType::Float, toml::Value::Float(f)) if f.is_finite() => Ok(ParamValue::Float(f)),
            (ParamType::Float, toml::Value::Integer(i)) => Ok(ParamValue::Float(i as f64)),
            (ParamType::Int, toml::Value::Integer(i)) => Ok(ParamValue::Int(i)),
            (ParamType::Bool, toml::Value::Boolean(b)) => Ok(ParamValue::Bool(b)),
            (ParamType::Choice(c), toml::Value::String(s)) if c.contains(&s.as_str()) => {
                Ok(ParamValue::Str(s))
            }
            (t, v) => Err(format!("{name}: value {v} is not {}", t.describe())),
        }
    }
}

/// The type of a tunable hyperparameter of `arch`; unknown names are refused with the list
/// of known ones.
pub fn param_type(arch: &Architecture, name: &str) -> Result<ParamType, String> {
    let common: &[(&str, ParamType)] = &[
        ("epochs", ParamType::Int),
        ("learning_rate", ParamType::Float),
        ("batch_size", ParamType::Int),
        ("max_len", ParamType::Int),
        ("weight_decay", ParamType::Float),
        ("warmup", ParamType::Float),
        ("patience", ParamType::Int),
        ("dropout", ParamType::Float),
        ("balance", ParamType::Choice(BALANCES)),
        ("calibrate", ParamType::Bool),
    ];
    let fasttext: &[(&str, ParamType)] = &[
        ("vocab_size", ParamType::Int),
        ("dim", ParamType::Int),
        ("bigram_buckets", ParamType::Int),
        ("sparse_lr_scale", ParamType::Float),
    ];
    let transformer: &[(&str, ParamType)] = &[("vocab_size", ParamType::Int)];
    let extra = match arch {
        Architecture::FastText => fasttext,
        Architecture::Transformer => transformer,
        Architecture::Bert { .. } => &[],
    };
    let known: Vec<&(&str, ParamType)> = common.iter().chain(extra).collect();
    known
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown hyperparameter {name:?} for architecture {} (known: {})",
                arch_name(arch),
                names.join(", ")
            )
        })
}

pub fn arch_name(arch: &Architecture) -> &'static str {
    match arch {
        Architecture::FastText => "fasttext",
        Architecture::Transformer => "transformer",
        Architecture::Bert { .. } => "bert",
    }
}

/// Range checks the trainer does not make itself.
pub fn check_value(name: &str, v: &ParamValue) -> Result<(), String> {
    let min = match name {
        "vocab_size" => 100.0,
        "dim" | "bigram_buckets" | "patience" => 1.0,
        "weight_decay" => 0.0,
        _ => return Ok(()),
    };
    match v.as_f64() {
        Some(x) if x >= min => Ok(()),
        _ => Err(format!("{name} = {v}: must be at least {min}")),
    }
}

/// Sets one hyperparameter.
pub fn apply_one(cfg: &mut TrainConfig, name: &str, v: &ParamValue) -> Result<(), String> {
    let float = || {
        v.as_f64()
            .ok_or_else(|| format!("{name}: {v} is not a number"))
    };
    let int = || match v {
        ParamValue::Int(i) if *i >= 0 => Ok(*i as usize),
        _ => Err(format!("{name}: {v} is not a non-negative integer")),
    };
    match name {
        "epochs" => cfg.epochs = int()?,
        "batch_size" => cfg.batch_size = int()?,
        "max_len" => cfg.max_len = int()?,
        "patience" => cfg.patience = int()?,
        "vocab_size" => cfg.vocab_size = int()?,
        "dim" => cfg.dim = int()?,
        "bigram_buckets" => cfg.bigram_buckets = int()?,
        "learning_rate" => cfg.learning_rate = float()?,
        "weight_decay" => cfg.weight_decay = float()?,
        "warmup" => cfg.warmup = float()?,
        "dropout" => cfg.dropout = float()?,
        "sparse_lr_scale" => cfg.sparse_lr_scale = float()?,
        "calibrate" => match v {
            ParamValue::Bool(b) => cfg.calibrate = *b,
            _ => return Err(format!("calibrate: {v} is not true or false")),
        },
        "balance" => {
            cfg.balance = match v {
                ParamValue::Str(s) if s == "none" => Balance::None,
                ParamValue::Str(s) if s == "downsample" => Balance::Downsample,
                ParamValue::Str(s) if s == "class_weights" => Balance::ClassWeights,
                _ => return Err(format!("balance: {v} is not one of {BALANCES:?}")),
            }
        }
        other => return Err(format!("unknown hyperparameter {other:?}")),
    }
    Ok(())
}

/// The value `cfg` has for one hyperparameter (what [`apply_one`] sets), `None` for a name
/// it does not know.
pub fn value_of(cfg: &TrainConfig, name: &str) -> Option<ParamValue> {
    let int = |v: usize| Some(ParamValue::Int(v as i64));
    match name {
        "epochs" => int(cfg.epochs),
        "batch_size" => int(cfg.batch_size),
        "max_len" => int(cfg.max_len),
        "patience" => int(cfg.patience),
        "vocab_size" => int(cfg.vocab_size),
        "dim" => int(cfg.dim),
        "bigram_buckets" => int(cfg.bigram_buckets),
        "learning_rate" => Some(ParamValue::Float(cfg.learning_rate)),
        "weight_decay" => Some(ParamValue::Float(cfg.weight_decay)),
        "warmup" => Some(ParamValue::Float(cfg.warmup)),
        "dropout" => Some(ParamValue::Float(cfg.dropout)),
        "sparse_lr_scale" => Some(ParamValue::Float(cfg.sparse_lr_scale)),
        "calibrate" => Some(ParamValue::Bool(cfg.calibrate)),
        "balance" => Some(ParamValue::Str(
            match cfg.balance {
                Balance::None => "none",
                Balance::Downsample => "downsample",
                Balance::ClassWeights => "class_weights",
            }
            .into(),
        )),
        _ => None,
    }
}

/// The values `cfg` has for the named hyperparameters (those it knows).
pub fn values_of<'a>(cfg: &TrainConfig, names: impl IntoIterator<Item = &'a String>) -> Params {
    names
        .into_iter()
        .filter_map(|n| value_of(cfg, n).map(|v| (n.clone(), v)))
        .collect()
}

/// A copy of `base` with the trial's hyperparameters set.
pub fn apply(base: &TrainConfig, p: &Params) -> Result<TrainConfig, String> {
    let mut cfg = base.clone();
    for (n, v) in p {
        apply_one(&mut cfg, n, v)?;
    }
    Ok(cfg)
}

/// `name=value` pairs on one line.
pub fn describe(p: &Params) -> String {
    p.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
