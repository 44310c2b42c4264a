//! Triggers: the one entry point every trigger calls (manual, watch, the drift monitor),
//! and a polling watch on a data folder and a parameters file.
use crate::definition::PipelineDef;
use crate::error::{PipelineError, Result};
use crate::executor::{execute, ExecutionSummary, ExecutorConfig, RunRequest};
use crate::home::Home;
use crate::params;
use crate::store::Stores;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// Which pipeline to run with which parameters.
#[derive(Debug, Clone, Default)]
pub struct PipelineSource {
    /// A TOML definition; the built-in pipeline when None.
    pub definition: Option<PathBuf>,
    /// A TOML file of `name = value` parameters.
    pub params_file: Option<PathBuf>,
    /// `name=value` overrides (applied after the file).
    pub overrides: Vec<(String, String)>,
}

impl PipelineSource {
    /// The definition and parameters, read and checked.
    pub fn request(&self, reason: &str) -> Result<RunRequest> {
        let definition = match &self.definition {
            Some(p) => PipelineDef::from_file(p)?,
            None => PipelineDef::default_pipeline(),
        };
        let values = match &self.params_file {
            Some(p) => params::read_file(p)?,
            None => BTreeMap::new(),
        };
        Ok(RunRequest {
            definition,
            values,
            overrides: self.overrides.clone(),
            trigger: reason.to_string(),
        })
    }
}

/// Runs the pipeline because of `reason` ("drift: PSI 0.31 on token_length", "watch: new
/// file x.csv", …), recorded with the execution.
pub fn trigger(
    cfg: &ExecutorConfig,
    stores: &Stores,
    reason: &str,
    source: &PipelineSource,
) -> Result<ExecutionSummary> {
    tracing::info!(reason, "pipeline triggered");
    execute(cfg, stores, &source.request(reason)?)
}

/// A retraining run in `home` with the default executor settings (what a drift
/// violation sets off): opens the home's stores and [`trigger`]s the pipeline.
pub fn retrain(home: &Home, reason: &str, source: &PipelineSource) -> Result<ExecutionSummary> {
    let stores = home.open_stores()?;
    trigger(&ExecutorConfig::new(home.clone()), &stores, reason, source)
}

/// What `pipeline watch` watches.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Folder whose data files (.csv, .jsonl, .json, optionally .gz) trigger runs.
    pub folder: PathBuf,
    /// The parameter that receives the new data file.
    pub data_param: String,
    pub interval: Duration,
    /// Stop after this many runs.
    pub max_runs: Option<usize>,
    pub source: PipelineSource,
}

type Snapshot = BTreeMap<PathBuf, (u64, SystemTime)>;

fn is_data(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    !n.starts_with('.')
        && [".csv", ".jsonl", ".json", ".ndjson"]
            .iter()
            .any(|e| n.ends_with(e))
}

fn stamp(p: &Path) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.len(), m.modified().ok()?))
}

fn snapshot(folder: &Path) -> Result<Snapshot> {
    let mut out = BTreeMap::new();
    let rd = std::fs::read_dir(folder).map_err(|e| PipelineError::io(folder, e))?;
    for e in rd.flatten() {
        let p = e.path();
        if p.is_file() && is_data(&p) {
            if let Some(s) = stamp(&p) {
                out.insert(p, s);
            }
        }
    }
    Ok(out)
}

/// Polls until `stop` is set or `max_runs` runs happened. Files already present at start
/// are the baseline; a new or changed file runs the pipeline on it once it is stable
/// (unchanged over one interval); a changed parameters file reruns on the newest file.
/// A failed run is logged and watching goes on.
pub fn watch(
    cfg: &ExecutorConfig,
    stores: &Stores,
    w: &WatchConfig,
    stop: &AtomicBool,
) -> Result<Vec<ExecutionSummary>> {
    let mut known = snapshot(&w.folder)?;
    let mut params_stamp = w.source.params_file.as_deref().and_then(stamp);
    let mut pending: Snapshot = BTreeMap::new();
    let mut runs = Vec::new();
    tracing::info!(folder = %w.folder.display(), files = known.len(), "watching for new data");
    while !stop.load(Ordering::Relaxed) && w.max_runs.is_none_or(|m| runs.len() < m) {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < w.interval && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(w.interval));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let now = snapshot(&w.folder)?;
        let mut reasons: Vec<(PathBuf, String)> = Vec::new();
        for (p, s) in &now {
            if known.get(p) == Some(s) {
                continue;
            }
            if pending.get(p) == Some(s) {
                let what = if known.contains_key(p) {
                    "changed"
                } else {
                    "new"
                };
                reasons.push((
                    p.clone(),
                    format!("watch: {what} data file {}", p.display()),
                ));
                known.insert(p.clone(), *s);
                pending.remove(p);
            } else {
                pending.insert(p.clone(), *s);
            }
        }
        let ps = w.source.params_file.as_deref().and_then(stamp);
        if ps != params_stamp && reasons.is_empty() {
            params_stamp = ps;
            if let Some((p, _)) = known.iter().max_by_key(|(_, (_, t))| *t) {
                reasons.push((p.clone(), "watch: parameters file changed".to_string()));
            }
        }
        params_stamp = ps.or(params_stamp);
        for (file, reason) in reasons {
            let mut source = w.source.clone();
            source.overrides.retain(|(k, _)| k != &w.data_param);
            source
                .overrides
                .push((w.data_param.clone(), file.display().to_string()));
            match trigger(cfg, stores, &reason, &source) {
                Ok(s) => {
                    tracing::info!(execution = %s.id, status = %s.status, %reason, "watch run finished");
                    runs.push(s);
                }
                Err(e) => tracing::warn!(error = %e, %reason, "watch run could not start"),
            }
            if w.max_runs.is_some_and(|m| runs.len() >= m) {
                break;
            }
        }
    }
    Ok(runs)
}
