//! What `sentio demo` calls: the built-in pipeline on one data file.
use crate::error::Result;
use crate::executor::{execute, ExecutionSummary, ExecutorConfig, RunRequest};
use crate::store::Stores;
use crate::PipelineDef;
use std::path::{Path, PathBuf};

/// The execution and, when the quality gate passed, the registered version and its
/// artifact directory.
#[derive(Debug, Clone)]
pub struct DefaultRun {
    pub execution: ExecutionSummary,
    pub version: Option<crate::store::ModelVersion>,
    pub artifact_dir: Option<PathBuf>,
}

/// Runs the built-in pipeline on `data` with `name=value` overrides.
pub fn run_default_pipeline(
    cfg: &ExecutorConfig,
    stores: &Stores,
    data: &Path,
    overrides: &[(String, String)],
) -> Result<DefaultRun> {
    let mut req = RunRequest::new(PipelineDef::default_pipeline());
    req.overrides
        .push(("input_data".into(), data.display().to_string()));
    req.overrides.extend(overrides.iter().cloned());
    req.trigger = "demo".into();
    let execution = execute(cfg, stores, &req)?;
    let version = execution.registered.clone();
    let artifact_dir = version
        .as_ref()
        .map(|v| stores.artifacts.fetch(&v.artifact_digest))
        .transpose()?;
    Ok(DefaultRun {
        execution,
        version,
        artifact_dir,
    })
}
