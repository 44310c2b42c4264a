//! Step types: what each takes, produces and does, and its typed configuration (parsed
//! and checked once, when the plan is built). One file per type.
use crate::error::{PipelineError, Result};
use crate::home::CodeVersion;
use crate::params::ParamValues;
use crate::store::{ArtifactStore, MetadataStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod baseline;
mod condition;
mod evaluate;
mod fail;
mod process;
mod register;
mod train;
mod tune;
mod validate;

pub use condition::ConditionConfig;
pub use fail::FailConfig;
pub use register::{RegisterConfig, DEFAULT_GROUP};
pub use train::{ArchitectureName, TrainStepConfig};
pub use tune::{TuneSettings, TuneStepConfig};
pub use validate::ValidateConfig;

/// The step types (SageMaker's Processing, Training, Condition, RegisterModel, Fail,
/// QualityCheck, specialised for text classification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Data quality, schema and class balance; the dataset with mapped labels.
    Validate,
    /// Stratified train/validation/test split.
    Process,
    /// Trains a model artifact.
    Train,
    /// Searches hyperparameters (cross-validated trials) and trains the best trial's model.
    Tune,
    /// Metrics on the test split (`evaluation.json`).
    Evaluate,
    /// Input statistics and constraints for drift monitoring.
    Baseline,
    /// Compares a value read from a step's JSON output with a threshold.
    Condition,
    /// Packages the model with evaluation, baseline and lineage and registers it.
    Register,
    /// Ends the execution as Failed with a message.
    Fail,
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

impl StepKind {
    /// Inputs the step requires.
    pub fn inputs(&self) -> &'static [&'static str] {
        match self {
            StepKind::Validate => &["data"],
            StepKind::Process => &["dataset"],
            StepKind::Train | StepKind::Tune => &["train", "validation"],
            StepKind::Evaluate => &["model", "test"],
            StepKind::Baseline => &["model", "train"],
            StepKind::Condition => &[],
            StepKind::Register => &["model", "evaluation"],
            StepKind::Fail => &[],
        }
    }

    /// Inputs the step may take.
    pub fn optional_inputs(&self) -> &'static [&'static str] {
        match self {
            StepKind::Register => &["baseline", "dataset"],
            // A condition reads JSON from any one upstream output, named as it likes.
            StepKind::Condition => &["evaluation", "input"],
            _ => &[],
        }
    }

    pub fn outputs(&self) -> &'static [&'static str] {
        match self {
            StepKind::Validate => &["dataset"],
            StepKind::Process => &["train", "validation", "test"],
            StepKind::Train => &["model"],
            StepKind::Tune => &["model", "trials"],
            StepKind::Evaluate => &["evaluation"],
            StepKind::Baseline => &["baseline"],
            StepKind::Register => &["package"],
            StepKind::Condition | StepKind::Fail => &[],
        }
    }

    /// Condition, register and fail always run: they are cheap or have side effects.
    pub fn cacheable(&self) -> bool {
        !matches!(
            self,
            StepKind::Condition | StepKind::Register | StepKind::Fail
        )
    }
}

/// A step's configuration, typed: parsed from the definition's `config` table (with
/// parameters substituted) and checked when the plan is built, so a step never meets a
/// setting it cannot use.
#[derive(Debug, Clone)]
pub enum StepConfig {
    Validate(ValidateConfig),
    Process(::train::SplitConfig),
    Train(Box<TrainStepConfig>),
    Tune(Box<TuneStepConfig>),
    Evaluate(DeviceConfig),
    Baseline(DeviceConfig),
    Condition(ConditionConfig),
    Register(RegisterConfig),
    Fail(FailConfig),
}

/// Parses a configuration table as `T`; errors name the setting.
fn parse<T: DeserializeOwned>(config: Value) -> std::result::Result<T, String> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || inner.contains(&format!("`{path}`")) {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

impl StepConfig {
    /// The configuration of a step of type `kind`, checked (unknown settings, wrong types
    /// and values out of range are refused, naming the setting).
    pub fn parse(kind: StepKind, config: Value) -> std::result::Result<Self, String> {
        Ok(match kind {
            StepKind::Validate => StepConfig::Validate(parse(config)?),
            StepKind::Process => {
                let c: ::train::SplitConfig = parse(config)?;
                c.check().map_err(|e| e.to_string())?;
                StepConfig::Process(c)
            }
            StepKind::Train => StepConfig::Train(Box::new(parse(config)?)),
            StepKind::Tune => StepConfig::Tune(Box::new(parse(config)?)),
            StepKind::Evaluate | StepKind::Baseline => {
                let c: DeviceConfig = parse(config)?;
                c.check()?;
                match kind {
                    StepKind::Evaluate => StepConfig::Evaluate(c),
                    _ => StepConfig::Baseline(c),
                }
            }
            StepKind::Condition => StepConfig::Condition(parse(config)?),
            StepKind::Register => StepConfig::Register(parse(config)?),
            StepKind::Fail => StepConfig::Fail(parse(config)?),
        })
    }

    pub fn kind(&self) -> StepKind {
        match self {
            StepConfig::Validate(_) => StepKind::Validate,
            StepConfig::Process(_) => StepKind::Process,
            StepConfig::Train(_) => StepKind::Train,
            StepConfig::Tune(_) => StepKind::Tune,
            StepConfig::Evaluate(_) => StepKind::Evaluate,
            StepConfig::Baseline(_) => StepKind::Baseline,
            StepConfig::Condition(_) => StepKind::Condition,
            StepConfig::Register(_) => StepKind::Register,
            StepConfig::Fail(_) => StepKind::Fail,
        }
    }

    /// The configuration as it enters the cache key and the manifest: its settings by
    /// name, in their typed form.
    pub fn to_json(&self) -> Value {
        let v = match self {
            StepConfig::Validate(c) => serde_json::to_value(c),
            StepConfig::Process(c) => serde_json::to_value(c),
            StepConfig::Train(c) => serde_json::to_value(c),
            StepConfig::Tune(c) => serde_json::to_value(c),
            StepConfig::Evaluate(c) | StepConfig::Baseline(c) => serde_json::to_value(c),
            StepConfig::Condition(c) => serde_json::to_value(c),
            StepConfig::Register(c) => serde_json::to_value(c),
            StepConfig::Fail(c) => serde_json::to_value(c),
        };
        v.unwrap_or_default()
    }

    pub(crate) fn run(&self, ctx: &StepContext) -> Result<StepOutcome> {
        match self {
            StepConfig::Validate(c) => validate::run(ctx, c),
            StepConfig::Process(c) => process::run(ctx, c),
            StepConfig::Train(c) => train::run(ctx, c),
            StepConfig::Tune(c) => tune::run(ctx, c),
            StepConfig::Evaluate(c) => evaluate::run(ctx, c),
            StepConfig::Baseline(c) => baseline::run(ctx, c),
            StepConfig::Condition(c) => condition::run(ctx, c),
            StepConfig::Register(c) => register::run(ctx, c),
            StepConfig::Fail(c) => fail::run(ctx, c),
        }
    }
}

/// Where evaluate and baseline run the model: `device = "auto" | "cpu" | "cuda"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    pub device: models::DeviceChoice,
}

impl DeviceConfig {
    /// CUDA asked for on a machine without it is refused before anything runs.
    fn check(&self) -> std::result::Result<(), String> {
        self.device.resolve().map(|_| ()).map_err(|e| e.to_string())
    }

    /// The device, resolved.
    pub(crate) fn resolve(&self, ctx: &StepContext) -> Result<tch::Device> {
        self.device.resolve().map_err(|e| ctx.fail(e.to_string()))
    }
}

/// What an execution is, for steps that record it (register, lineage).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub id: String,
    pub pipeline: String,
    pub parameters: ParamValues,
    pub code_version: CodeVersion,
    /// Why it runs: "manual", "watch: …", "drift: …".
    pub trigger: String,
}

/// The last lines a step logged, kept for the metadata store.
#[derive(Debug, Clone, Default)]
pub struct StepLog(Arc<Mutex<VecDeque<String>>>);

const LOG_LINES: usize = 40;

impl StepLog {
    pub fn line(&self, step: &str, msg: impl Into<String>) {
        let msg = msg.into();
        tracing::info!(step, "{msg}");
        if let Ok(mut q) = self.0.lock() {
            if q.len() == LOG_LINES {
                q.pop_front();
            }
            q.push_back(msg);
        }
    }
    pub fn excerpt(&self) -> String {
        self.0
            .lock()
            .map(|q| q.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }
}

/// Everything a step sees while it runs (its configuration is passed beside it).
pub(crate) struct StepContext<'a> {
    pub step: String,
    /// Config key → the parameter it came from.
    pub config_params: BTreeMap<String, String>,
    /// Input name → file (data inputs) or artifact directory (step outputs).
    pub inputs: BTreeMap<String, PathBuf>,
    pub input_digests: BTreeMap<String, String>,
    /// Where to write each output (created by the step; moved into the store afterwards).
    pub staging: PathBuf,
    pub execution: &'a ExecutionInfo,
    pub metadata: &'a dyn MetadataStore,
    pub artifacts: &'a dyn ArtifactStore,
    /// Why this step runs (e.g. the condition outcome that led to a fail step).
    pub notes: Vec<String>,
    pub log: StepLog,
}

impl StepContext<'_> {
    pub fn input(&self, name: &str) -> Result<&Path> {
        self.inputs
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| PipelineError::step(&self.step, format!("input {name:?} is missing")))
    }
    /// A fresh directory for an output.
    pub fn output_dir(&self, name: &str) -> Result<PathBuf> {
        let p = self.output_path(name);
        std::fs::create_dir_all(&p).map_err(|e| PipelineError::io(&p, e))?;
        Ok(p)
    }
    /// Where an output goes, not created (for writers that create it themselves).
    pub fn output_path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }
    pub fn log(&self, msg: impl Into<String>) {
        self.log.line(&self.step, msg)
    }
    pub fn fail(&self, message: impl Into<String>) -> PipelineError {
        PipelineError::StepFailed {
            step: self.step.clone(),
            message: message.into(),
        }
    }
}

/// What a step reports besides its output directories.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepOutcome {
    /// Small JSON recorded with the step (metrics, counts, the condition's outcome).
    pub properties: Value,
    /// Outputs the step already moved into the store itself (name → digest).
    pub committed: BTreeMap<String, String>,
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| PipelineError::json(path, e))
}

pub(crate) fn write_json(path: &Path, v: &Value) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| PipelineError::json(path, e))?;
    std::fs::write(path, bytes).map_err(|e| PipelineError::io(path, e))
}

/// A split as stored between steps: `data.jsonl` + `labels.json`.
pub(crate) fn write_split(dir: &Path, ds: &::train::Dataset) -> Result<()> {
    ds.write_jsonl(&dir.join("data.jsonl"))?;
    write_json(&dir.join("labels.json"), &serde_json::json!(ds.label_names))
}

pub(crate) fn read_split(dir: &Path) -> Result<::train::Dataset> {
    let labels: Vec<String> = serde_json::from_value(read_json(&dir.join("labels.json"))?)
        .map_err(|e| PipelineError::json(dir.join("labels.json"), e))?;
    let data = dir.join("data.jsonl");
    if std::fs::metadata(&data)
        .map(|m| m.len() == 0)
        .unwrap_or(false)
    {
        return Ok(::train::Dataset {
            label_names: labels,
            ..Default::default()
        });
    }
    Ok(::train::Dataset::read_jsonl(&data, &labels)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(kind: StepKind, v: Value) -> String {
        StepConfig::parse(kind, v).unwrap_err()
    }

    #[test]
    fn configurations_are_typed_and_checked_once() {
        let StepConfig::Train(t) = StepConfig::parse(
            StepKind::Train,
            json!({"architecture": "transformer", "epochs": 3, "device": "cpu"}),
        )
        .unwrap() else {
            panic!("train")
        };
        assert_eq!(t.train.epochs, 3);
        assert_eq!(t.train.architecture, ::train::Architecture::Transformer);
        // The architecture's defaults for what is not set; no progress bar in a step.
        assert_eq!(t.train.max_len, 128);
        assert!(!t.train.progress);
        // The key shows the settings as given, typed.
        assert_eq!(
            StepConfig::Train(t).to_json(),
            json!({"architecture": "transformer", "epochs": 3, "device": "cpu"})
        );

        let e = err(StepKind::Train, json!({"architecture": "lstm"}));
        assert!(e.contains("unknown architecture \"lstm\""), "{e}");
        let e = err(StepKind::Train, json!({"epochs": "two"}));
        assert!(e.starts_with("epochs: invalid type"), "{e}");
        let e = err(StepKind::Train, json!({"epochs": 0}));
        assert!(e.contains("epochs must be at least 1"), "{e}");
        let e = err(StepKind::Train, json!({"architecture": "bert"}));
        assert!(e.contains("needs a checkpoint"), "{e}");
        let e = err(StepKind::Train, json!({"epoch": 2}));
        assert!(e.contains("unknown field `epoch`"), "{e}");

        let e = err(StepKind::Process, json!({"validation": 0.6, "test": 0.5}));
        assert!(e.contains("sum to less than 1"), "{e}");
        let e = err(
            StepKind::Condition,
            json!({"op": ">=", "path": "a", "file": "x"}),
        );
        assert!(e.contains("right is required"), "{e}");
        let e = err(StepKind::Register, json!({"model_package_group": "a/b"}));
        assert!(e.contains("without '/'"), "{e}");
        let e = err(StepKind::Evaluate, json!({"device": "gpu"}));
        assert!(e.starts_with("device: unknown variant"), "{e}");
        assert_eq!(
            StepConfig::parse(StepKind::Fail, json!({}))
                .unwrap()
                .to_json(),
            json!({"message": "the pipeline reached a fail step"})
        );
    }

    #[test]
    fn equal_settings_written_differently_give_one_key() {
        let a = StepConfig::parse(
            StepKind::Validate,
            json!({"text_columns": "Title, Review Text"}),
        )
        .unwrap();
        let b = StepConfig::parse(
            StepKind::Validate,
            json!({"text_columns": ["Title", "Review Text"]}),
        )
        .unwrap();
        assert_eq!(a.to_json(), b.to_json());
        let c = StepConfig::parse(
            StepKind::Condition,
            json!({"op": "greater_than_or_equal_to", "path": "a", "file": "x", "right": 1}),
        )
        .unwrap();
        assert_eq!(c.to_json()["op"], ">=");
    }
}
