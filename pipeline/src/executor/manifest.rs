//! The execution manifest: what ran, with which configuration, inputs and outputs, what
//! the cache decided, and what was registered. Stored with the execution and written to
//! `executions/<id>.json`.
use super::run::StepRun;
use crate::definition::{PipelineDef, Plan};
use crate::error::{PipelineError, Result};
use crate::home::{CodeVersion, Home};
use crate::params::ParamValues;
use crate::steps::{ExecutionInfo, StepKind};
use crate::store::{ApprovalStatus, ExecutionStatus, ModelVersion, StepStatus};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub(super) struct Manifest<'a> {
    execution: &'a str,
    pipeline: &'a str,
    status: ExecutionStatus,
    trigger: &'a str,
    code_version: &'a CodeVersion,
    parameters: &'a ParamValues,
    failure_reason: Option<&'a str>,
    wall_seconds: f64,
    steps: Vec<ManifestStep<'a>>,
    registered: Option<Registered<'a>>,
    definition: &'a PipelineDef,
}

#[derive(Serialize)]
struct ManifestStep<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: StepKind,
    status: StepStatus,
    depends_on: Vec<&'a str>,
    config: Value,
    inputs: &'a BTreeMap<String, String>,
    outputs: &'a BTreeMap<String, String>,
    cache_key: Option<&'a str>,
    cache_decision: Option<&'a str>,
    cached_from: Option<&'a str>,
    duration_s: Option<f64>,
    properties: &'a Value,
    failure_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Registered<'a> {
    version: &'a str,
    group: &'a str,
    number: i64,
    status: ApprovalStatus,
}

/// What a finished execution hands to the manifest.
pub(super) struct Outcome<'a> {
    pub status: ExecutionStatus,
    pub failure_reason: Option<&'a str>,
    pub wall_seconds: f64,
    pub registered: Option<&'a ModelVersion>,
}

impl<'a> Manifest<'a> {
    pub fn new(
        info: &'a ExecutionInfo,
        def: &'a PipelineDef,
        plan: &'a Plan,
        runs: &'a [StepRun],
        outcome: Outcome<'a>,
    ) -> Self {
        let steps = plan
            .order
            .iter()
            .map(|&i| {
                let (s, r) = (&plan.steps[i], &runs[i]);
                ManifestStep {
                    name: &s.name,
                    kind: s.kind,
                    status: r.final_status(),
                    depends_on: s
                        .deps
                        .iter()
                        .map(|&d| plan.steps[d].name.as_str())
                        .collect(),
                    config: s.config.to_json(),
                    inputs: &r.inputs,
                    outputs: &r.outputs,
                    cache_key: r.cache_key.as_deref(),
                    cache_decision: r.decision.as_deref(),
                    cached_from: r.cached_from.as_deref(),
                    duration_s: r.duration_s,
                    properties: &r.properties,
                    failure_reason: r.failure_reason.as_deref(),
                }
            })
            .collect();
        Manifest {
            execution: &info.id,
            pipeline: &info.pipeline,
            status: outcome.status,
            trigger: &info.trigger,
            code_version: &info.code_version,
            parameters: &info.parameters,
            failure_reason: outcome.failure_reason,
            wall_seconds: outcome.wall_seconds,
            steps,
            registered: outcome.registered.map(|v| Registered {
                version: &v.version,
                group: &v.group,
                number: v.number,
                status: v.status,
            }),
            definition: def,
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Writes `executions/<id>.json` atomically.
pub(super) fn write(home: &Home, id: &str, manifest: &Value) -> Result<()> {
    let dir = home.manifests_dir();
    std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    let path = dir.join(format!("{id}.json"));
    let tmp = dir.join(format!(".{id}.json.tmp"));
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|e| PipelineError::json(&path, e))?;
    std::fs::write(&tmp, bytes).map_err(|e| PipelineError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| PipelineError::io(&path, e))
}
