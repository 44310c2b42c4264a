//! The executor: runs a plan's steps in dependency order, independent steps at once (one
//! thread each, up to a limit), answering steps from the cache where the key matches, and
//! records everything in the metadata store as it happens.
mod by_step;
mod driver;
mod manifest;
mod run;

pub use by_step::{finish, plan, run_step, StepReport};

use crate::cache::CachePolicy;
use crate::definition::PipelineDef;
use crate::error::{PipelineError, Result};
use crate::home::{CodeVersion, Home};
use crate::params::{self, ParamValue};
use crate::steps::ExecutionInfo;
use crate::store::{now, ExecutionRecord, ExecutionStatus, ModelVersion, StepStatus, Stores};
use driver::Driver;
use std::collections::BTreeMap;

/// Staging directories older than this belong to a process that is gone.
const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How executions run.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Where execution manifests are written (`executions/`).
    pub home: Home,
    pub cache: CachePolicy,
    /// Part of every cache key; this build's ([`CodeVersion::current`]) by default.
    pub code_version: CodeVersion,
    /// Steps running at once.
    pub max_parallel: usize,
}

impl ExecutorConfig {
    pub fn new(home: Home) -> Self {
        ExecutorConfig {
            home,
            cache: CachePolicy::default(),
            code_version: CodeVersion::current(),
            max_parallel: 4,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub definition: PipelineDef,
    /// Typed values (e.g. from a parameters file).
    pub values: BTreeMap<String, ParamValue>,
    /// `name=value` overrides, checked against the declared types.
    pub overrides: Vec<(String, String)>,
    /// Why it runs ("manual", "watch: …", "drift: …").
    pub trigger: String,
}

impl RunRequest {
    pub fn new(definition: PipelineDef) -> Self {
        RunRequest {
            definition,
            values: BTreeMap::new(),
            overrides: Vec::new(),
            trigger: "manual".into(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepSummary {
    pub name: String,
    pub status: StepStatus,
    pub duration_s: f64,
    pub decision: Option<String>,
    pub failure_reason: Option<String>,
}

/// The result of an execution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExecutionSummary {
    pub id: String,
    pub status: ExecutionStatus,
    pub failure_reason: Option<String>,
    pub steps: Vec<StepSummary>,
    /// The version the register step registered (or found already registered).
    pub registered: Option<ModelVersion>,
    pub wall_s: f64,
    /// Wall time minus the time during which some step was running: planning, cache
    /// look-ups, bookkeeping and store writes.
    pub overhead_s: f64,
}

/// Runs a pipeline. Every input problem (unknown parameter, wrong type, bad reference,
/// missing data file, invalid step configuration) is an error before anything runs or
/// is recorded.
pub fn execute(
    cfg: &ExecutorConfig,
    stores: &Stores,
    req: &RunRequest,
) -> Result<ExecutionSummary> {
    let (plan, info) = begin(cfg, stores, req, new_id(), std::process::id())?;
    Driver::new(cfg, stores, &plan, &info, &req.definition).run(BTreeMap::new())
}

/// A new execution id: `YYYYmmdd-HHMMSS-<8 hex>`.
fn new_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Checks the request, plans it and records the execution as Executing (by process `pid`;
/// 0 when its steps run elsewhere).
fn begin(
    cfg: &ExecutorConfig,
    stores: &Stores,
    req: &RunRequest,
    id: String,
    pid: u32,
) -> Result<(crate::definition::Plan, ExecutionInfo)> {
    let values = params::resolve(&req.definition.parameters, &req.values, &req.overrides)?;
    let plan = req.definition.plan(&values)?;
    let info = ExecutionInfo {
        id: id.clone(),
        pipeline: req.definition.name.clone(),
        parameters: values.clone(),
        code_version: cfg.code_version.clone(),
        trigger: req.trigger.clone(),
    };
    stores.metadata.create_execution(&ExecutionRecord {
        id: id.clone(),
        pipeline: info.pipeline.clone(),
        status: ExecutionStatus::Executing,
        parameters: serde_json::to_value(&values).unwrap_or_default(),
        definition: serde_json::to_value(&req.definition).unwrap_or_default(),
        code_version: cfg.code_version.to_string(),
        trigger: req.trigger.clone(),
        pid,
        started_at: now(),
        ended_at: None,
        failure_reason: None,
        manifest: None,
    })?;
    tracing::info!(execution = %id, pipeline = %info.pipeline, trigger = %req.trigger, "execution started");
    let cleaned = stores.artifacts.clean_staging(STALE_STAGING);
    if cleaned > 0 {
        tracing::info!(
            cleaned,
            "removed staging directories left by interrupted runs"
        );
    }
    Ok((plan, info))
}

/// A recorded execution with its definition and plan, read back from the store.
struct Loaded {
    rec: ExecutionRecord,
    def: PipelineDef,
    plan: crate::definition::Plan,
    values: crate::params::ParamValues,
}

/// Reads an execution (id or unique prefix) back; `err` words what cannot be read.
fn load(
    stores: &Stores,
    execution_id: &str,
    err: impl Fn(&str, String) -> PipelineError,
) -> Result<Loaded> {
    let rec = stores
        .metadata
        .execution(execution_id)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "execution",
            id: execution_id.to_string(),
        })?;
    let def: PipelineDef = serde_json::from_value(rec.definition.clone())
        .map_err(|e| err(&rec.id, format!("stored definition unreadable: {e}")))?;
    let typed: BTreeMap<String, ParamValue> = serde_json::from_value(rec.parameters.clone())
        .map_err(|e| err(&rec.id, format!("stored parameters unreadable: {e}")))?;
    let values = params::resolve(&def.parameters, &typed, &[])?;
    let plan = def.plan(&values)?;
    Ok(Loaded {
        rec,
        def,
        plan,
        values,
    })
}

/// Continues an execution that was interrupted (or failed) after its last successful
/// step: steps that succeeded keep their outputs, the others run again.
pub fn resume(
    cfg: &ExecutorConfig,
    stores: &Stores,
    execution_id: &str,
) -> Result<ExecutionSummary> {
    let store = &*stores.metadata;
    let resume_err = |id: &str, reason: String| PipelineError::Resume {
        id: id.to_string(),
        reason,
    };
    let Loaded {
        rec,
        def,
        plan,
        values,
    } = load(stores, execution_id, resume_err)?;
    let err = |reason: String| resume_err(&rec.id, reason);
    match rec.status {
        ExecutionStatus::Succeeded => return Err(err("it already succeeded".into())),
        ExecutionStatus::Executing if rec.pid == 0 => {
            return Err(err(
                "its steps are run one by one (run-step); finish it with `pipeline finish`".into(),
            ))
        }
        ExecutionStatus::Executing if !rec.interrupted() => {
            return Err(err(format!("it is still running (process {})", rec.pid)))
        }
        _ => {}
    }
    let mut prior = BTreeMap::new();
    for mut s in store.steps(&rec.id)? {
        match s.status {
            StepStatus::Executing => {
                s.status = StepStatus::Failed;
                s.ended_at = Some(now());
                s.failure_reason =
                    Some("interrupted: the process running this step stopped".into());
                store.finish_step(&s)?;
            }
            StepStatus::Succeeded | StepStatus::Cached => {
                if let Some(i) = plan.index(&s.step) {
                    let mut stored = true;
                    for d in s.outputs.values() {
                        stored &= stores.artifacts.contains(d)?;
                    }
                    if stored {
                        prior.insert(i, s);
                    }
                }
            }
            _ => {}
        }
    }
    store.set_execution_status(&rec.id, ExecutionStatus::Executing, None)?;
    let info = ExecutionInfo {
        id: rec.id.clone(),
        pipeline: rec.pipeline.clone(),
        parameters: values,
        code_version: cfg.code_version.clone(),
        trigger: format!("{} (resumed)", rec.trigger),
    };
    tracing::info!(execution = %rec.id, reused = prior.len(), "resuming execution");
    Driver::new(cfg, stores, &plan, &info, &def).run(prior)
}
