//! The two files of a baseline, typed as Model Monitor writes them (every field a reader
//! may meet; those SageMaker always writes are required, the rest default).
use serde::{Deserialize, Serialize};

/// `statistics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    #[serde(default)]
    pub version: u32,
    pub dataset: Dataset,
    pub features: Vec<FeatureStatistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub item_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InferredType {
    Integral,
    Fractional,
    String,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStatistics {
    pub name: String,
    pub inferred_type: InferredType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical_statistics: Option<NumericalStatistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_statistics: Option<StringStatistics>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Common {
    pub num_present: u64,
    #[serde(default)]
    pub num_missing: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericalStatistics {
    #[serde(default)]
    pub common: Common,
    pub mean: f64,
    pub sum: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub distribution: NumericalDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericalDistribution {
    pub kll: Kll,
}

/// Model Monitor's KLL sketch: its buckets (the sketch itself, when present, is kept as
/// it was read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kll {
    pub buckets: Vec<NumericBucket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NumericBucket {
    pub lower_bound: f64,
    pub upper_bound: f64,
    pub count: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringStatistics {
    #[serde(default)]
    pub common: Common,
    #[serde(default)]
    pub distinct_count: f64,
    pub distribution: StringDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringDistribution {
    pub categorical: Categorical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Categorical {
    pub buckets: Vec<CategoricalBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalBucket {
    /// A category; Model Monitor may write numbers and booleans here too.
    #[serde(deserialize_with = "scalar_as_string")]
    pub value: String,
    pub count: f64,
}

fn scalar_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// `constraints.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    #[serde(default)]
    pub version: u32,
    pub features: Vec<FeatureConstraints>,
    #[serde(default)]
    pub monitoring_config: MonitoringConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConstraints {
    pub name: String,
    pub inferred_type: InferredType,
    /// Required share of present values (1.0 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_constraints: Option<NumConstraints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_constraints: Option<StringConstraints>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumConstraints {
    pub is_non_negative: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringConstraints {
    /// The allowed values.
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringConfig {
    #[serde(default = "enabled")]
    pub evaluate_constraints: String,
    #[serde(default = "enabled")]
    pub emit_metrics: String,
    #[serde(default)]
    pub distribution_constraints: DistributionConstraints,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionConstraints {
    #[serde(default = "enabled")]
    pub perform_comparison: String,
    /// The effect threshold (PSI / Jensen–Shannon) of the drift check.
    #[serde(default = "default_threshold")]
    pub comparison_threshold: f64,
    #[serde(default = "robust")]
    pub comparison_method: String,
    #[serde(default = "default_threshold")]
    pub categorical_comparison_threshold: f64,
    #[serde(default = "l_infinity")]
    pub categorical_drift_method: String,
}

fn enabled() -> String {
    "Enabled".into()
}
fn robust() -> String {
    "Robust".into()
}
fn l_infinity() -> String {
    "LInfinity".into()
}
fn default_threshold() -> f64 {
    0.1
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            evaluate_constraints: enabled(),
            emit_metrics: enabled(),
            distribution_constraints: DistributionConstraints::default(),
        }
    }
}

impl Default for DistributionConstraints {
    fn default() -> Self {
        DistributionConstraints {
            perform_comparison: enabled(),
            comparison_threshold: default_threshold(),
            comparison_method: robust(),
            categorical_comparison_threshold: default_threshold(),
            categorical_drift_method: l_infinity(),
        }
    }
}
