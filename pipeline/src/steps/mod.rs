//! Step types: what each takes, produces and does. One file per type.
use crate::error::{PipelineError, Result};
use crate::home::{CodeVersion, Home};
use crate::params::ParamValues;
use crate::store::ArtifactStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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
mod validate;

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
            StepKind::Train => &["train", "validation"],
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

    /// Checks a resolved configuration before anything runs.
    pub fn check_config(&self, config: &Value) -> std::result::Result<(), String> {
        let empty = Map::new();
        let cfg = config.as_object().unwrap_or(&empty);
        match self {
            StepKind::Validate => validate::check(cfg),
            StepKind::Process => process::split_config(cfg).map(|_| ()),
            StepKind::Train => train::train_config(cfg).map(|_| ()),
            StepKind::Evaluate | StepKind::Baseline => device(cfg).map(|_| ()),
            StepKind::Condition => condition::check(cfg),
            StepKind::Register => register::check(cfg),
            StepKind::Fail => fail::check(cfg),
        }
    }

    pub(crate) fn run(&self, ctx: &StepContext) -> Result<StepOutcome> {
        match self {
            StepKind::Validate => validate::run(ctx),
            StepKind::Process => process::run(ctx),
            StepKind::Train => train::run(ctx),
            StepKind::Evaluate => evaluate::run(ctx),
            StepKind::Baseline => baseline::run(ctx),
            StepKind::Condition => condition::run(ctx),
            StepKind::Register => register::run(ctx),
            StepKind::Fail => fail::run(ctx),
        }
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

/// Everything a step sees while it runs.
pub(crate) struct StepContext<'a> {
    pub step: String,
    pub config: Map<String, Value>,
    /// Config key → the parameter it came from.
    pub config_params: BTreeMap<String, String>,
    /// Input name → file (data inputs) or artifact directory (step outputs).
    pub inputs: BTreeMap<String, PathBuf>,
    pub input_digests: BTreeMap<String, String>,
    /// Where to write each output (created by the step; moved into the store afterwards).
    pub staging: PathBuf,
    pub execution: &'a ExecutionInfo,
    pub home: &'a Home,
    pub store: &'a dyn ArtifactStore,
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

/// `base` with the keys of `cfg` laid over it (unknown keys and wrong types refused).
pub(crate) fn overlay<T: Serialize + DeserializeOwned>(
    base: &T,
    cfg: &Map<String, Value>,
    skip: &[&str],
) -> std::result::Result<T, String> {
    let mut v = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let obj = v.as_object_mut().ok_or("not an object")?;
    for (k, x) in cfg {
        if skip.contains(&k.as_str()) {
            continue;
        }
        if !obj.contains_key(k) {
            let known: Vec<&String> = obj.keys().collect();
            return Err(format!(
                "unknown setting {k:?}; known: {known:?} and {skip:?}"
            ));
        }
        obj.insert(k.clone(), x.clone());
    }
    serde_json::from_value(v).map_err(|e| format!("invalid setting: {e}"))
}

pub(crate) fn device(cfg: &Map<String, Value>) -> std::result::Result<tch::Device, String> {
    let choice: models::DeviceChoice = match cfg.get("device") {
        None => models::DeviceChoice::Auto,
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| format!("device must be auto, cpu or cuda, got {v}"))?,
    };
    choice.resolve().map_err(|e| e.to_string())
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
