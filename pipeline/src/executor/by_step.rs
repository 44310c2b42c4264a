//! Executions whose steps run anywhere, one process per step, so that any engine (Argo
//! Workflows, a CI system, a shell loop) can run the DAG: [`plan`] records the execution,
//! [`run_step`] runs one of its steps from the shared stores (idempotently: a step that is
//! done is not run again, a failed or interrupted attempt is retried), and [`finish`]
//! records what never ran and the outcome. Cache decisions, condition branches, lineage
//! and the manifest are the local executor's own.
use super::driver::Driver;
use super::{begin, load, ExecutionSummary, ExecutorConfig, Loaded, RunRequest, StepSummary};
use crate::error::{PipelineError, Result};
use crate::steps::ExecutionInfo;
use crate::store::{ExecutionRecord, ExecutionStatus, Stores};

/// What `run-step` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepReport {
    pub execution: String,
    #[serde(flatten)]
    pub step: StepSummary,
    /// A condition's outcome.
    pub outcome: Option<bool>,
}

fn by_step_err(id: &str, reason: String) -> PipelineError {
    PipelineError::ExecutionFailed {
        id: id.to_string(),
        reason,
    }
}

/// Execution ids chosen by the caller (a workflow's name) are plain names.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PipelineError::Definition(format!(
            "execution id {id:?}: use 1–128 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Records an execution of `req` without running anything; its steps then run with
/// [`run_step`]. With `id` (e.g. the workflow's name) planning is idempotent: the same
/// request planned again returns the same execution; a different one is refused.
pub fn plan(
    cfg: &ExecutorConfig,
    stores: &Stores,
    req: &RunRequest,
    id: Option<&str>,
) -> Result<ExecutionRecord> {
    let id = match id {
        Some(id) => {
            check_id(id)?;
            if let Some(rec) = stores.metadata.execution(id)?.filter(|r| r.id == id) {
                let values = crate::params::resolve(
                    &req.definition.parameters,
                    &req.values,
                    &req.overrides,
                )?;
                let same = rec.definition
                    == serde_json::to_value(&req.definition).unwrap_or_default()
                    && rec.parameters == serde_json::to_value(&values).unwrap_or_default();
                if !same {
                    return Err(by_step_err(
                        id,
                        "it exists already with another definition or other parameters".into(),
                    ));
                }
                return Ok(rec);
            }
            id.to_string()
        }
        None => super::new_id(),
    };
    begin(cfg, stores, req, id.clone(), 0)?;
    stores
        .metadata
        .execution(&id)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "execution",
            id,
        })
}

fn loaded_for_steps(
    cfg: &ExecutorConfig,
    stores: &Stores,
    execution_id: &str,
) -> Result<(Loaded, ExecutionInfo)> {
    let l = load(stores, execution_id, by_step_err)?;
    if l.rec.status != ExecutionStatus::Executing {
        return Err(by_step_err(
            &l.rec.id,
            format!(
                "it is {}; its steps run only while it is Executing",
                l.rec.status
            ),
        ));
    }
    let info = ExecutionInfo {
        id: l.rec.id.clone(),
        pipeline: l.rec.pipeline.clone(),
        parameters: l.values.clone(),
        code_version: cfg.code_version.clone(),
        trigger: l.rec.trigger.clone(),
    };
    Ok((l, info))
}

/// Runs one step of a planned execution (see the module's documentation). A step that
/// fails is recorded and reported as Failed (the caller exits non-zero so the engine can
/// retry it); an unknown step or an upstream step that has not finished is an error.
pub fn run_step(
    cfg: &ExecutorConfig,
    stores: &Stores,
    execution_id: &str,
    step: &str,
) -> Result<StepReport> {
    let (l, info) = loaded_for_steps(cfg, stores, execution_id)?;
    let i = l.plan.index(step).ok_or_else(|| PipelineError::NotFound {
        what: "step",
        id: format!(
            "{step} in execution {} (it has {})",
            l.rec.id,
            l.plan
                .steps
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let rows = stores.metadata.steps(&l.rec.id)?;
    let (summary, properties) =
        Driver::new(cfg, stores, &l.plan, &info, &l.def).run_one(rows, i)?;
    Ok(StepReport {
        execution: l.rec.id.clone(),
        outcome: properties["outcome"].as_bool(),
        step: summary,
    })
}

/// Ends a planned execution: records the steps that never ran as Skipped, its status
/// (Failed when a step's last attempt failed) and its manifest.
pub fn finish(
    cfg: &ExecutorConfig,
    stores: &Stores,
    execution_id: &str,
) -> Result<ExecutionSummary> {
    let (l, info) = loaded_for_steps(cfg, stores, execution_id)?;
    let rows = stores.metadata.steps(&l.rec.id)?;
    Driver::new(cfg, stores, &l.plan, &info, &l.def).finish_recorded(rows, &l.rec.started_at)
}
