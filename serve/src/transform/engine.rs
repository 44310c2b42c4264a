//! A transform job: the input files, run `MaxConcurrentTransforms` at a time, and the
//! summary (also written as `transform-summary.json` in the output folder).
use super::file_job::{FileJob, FileSummary};
use super::knobs::{InputKind, Knobs, OutputKind, TransformSpec};
use super::progress::{Counters, Counts, Reporter};
use crate::batcher::{BatchConfig, Batcher, TokenizerPool};
use crate::error::ServeError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Name of the summary written next to the outputs.
pub const SUMMARY_FILE: &str = "transform-summary.json";

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum JobStatus {
    InProgress,
    Completed,
    Failed,
}

/// What a job did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub status: JobStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub model_version: String,
    pub files: Vec<FileSummary>,
    #[serde(flatten)]
    pub counts: Counts,
    pub wall_seconds: f64,
    pub records_per_second: f64,
}

/// Options of one run that are not SageMaker knobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Report progress (bar on a terminal, log lines otherwise).
    pub progress: bool,
}

/// The model of a job run on its own (`sentio transform`), not on a server.
#[derive(Debug, Clone)]
pub struct LocalModel {
    /// Artifact directory.
    pub path: PathBuf,
    pub device: tch::Device,
    pub batch: BatchConfig,
    pub tokenizer_threads: usize,
}

/// Runs a job on its own: a runtime, the model loaded into a [`Batcher`], the job. An
/// `Err` is a job that could not start; a job that ran and failed returns a `Failed`
/// summary.
pub fn run_local_job(
    model: LocalModel,
    spec: TransformSpec,
    options: RunOptions,
) -> Result<Summary, ServeError> {
    Knobs::from_spec(&spec)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sentio-transform")
        .build()?;
    runtime.block_on(async {
        let pool = TokenizerPool::new(model.tokenizer_threads, 64);
        let batcher =
            Batcher::load(&model.path, model.device, "transform", model.batch, pool).await?;
        run_transform(batcher, spec, Arc::new(Counters::default()), options).await
    })
}

/// The input files of `input` (a file, or the supported files of a folder, sorted).
pub fn discover(input: &Path, content_type: Option<InputKind>) -> Result<Vec<PathBuf>, ServeError> {
    let meta = std::fs::metadata(input)
        .map_err(|e| ServeError::Invalid(format!("input {}: {e}", input.display())))?;
    if meta.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(input)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let supported = InputKind::from_name(&name).is_some()
            || content_type.is_some() && !name.starts_with('.');
        if path.is_file() && supported {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs a job to its end. An `Err` is a job that could not start (bad knobs, paths); a
/// job that ran and failed (error budget, I/O) returns a `Failed` summary.
#[tracing::instrument(skip_all, fields(input = %spec.input.display()))]
pub async fn run_transform(
    batcher: Batcher,
    spec: TransformSpec,
    counters: Arc<Counters>,
    options: RunOptions,
) -> Result<Summary, ServeError> {
    let started = Instant::now();
    let knobs = Arc::new(Knobs::from_spec(&spec)?);
    let files = discover(&spec.input, knobs.content_type)?;
    std::fs::create_dir_all(&spec.output)?;
    let mut jobs = Vec::with_capacity(files.len());
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = knobs
            .content_type
            .or_else(|| InputKind::from_name(&name))
            .ok_or_else(|| {
                ServeError::Invalid(format!("{name}: unknown format; set ContentType"))
            })?;
        let accept = knobs.accept.unwrap_or(match kind {
            InputKind::Csv => OutputKind::Csv,
            _ => OutputKind::Json,
        });
        counters.total_bytes.fetch_add(
            std::fs::metadata(f).map(|m| m.len()).unwrap_or(0),
            Ordering::Relaxed,
        );
        jobs.push((f.clone(), kind, accept));
    }
    let version = batcher.info().version.clone();
    let fingerprint = format!("{}|{}", spec.fingerprint(), version);
    let _reporter = options.progress.then(|| Reporter::start(counters.clone()));
    let cancel = Arc::new(AtomicBool::new(false));
    let limit = Arc::new(tokio::sync::Semaphore::new(knobs.max_concurrent));
    let mut handles = Vec::with_capacity(jobs.len());
    for (input, kind, accept) in jobs {
        let job = FileJob {
            input,
            out_dir: spec.output.clone(),
            kind,
            accept,
            knobs: knobs.clone(),
            batcher: batcher.clone(),
            fingerprint: fingerprint.clone(),
            counters: counters.clone(),
            cancel: cancel.clone(),
            handle: tokio::runtime::Handle::current(),
        };
        let limit = limit.clone();
        let cancel = cancel.clone();
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            if cancel.load(Ordering::Relaxed) {
                return Err(ServeError::Internal("the job was stopped".into()));
            }
            tokio::task::spawn_blocking(move || job.run())
                .await
                .map_err(|e| ServeError::Internal(format!("a file job panicked: {e}")))?
        }));
    }
    let mut summaries = Vec::new();
    let mut failure = None;
    for h in handles {
        match h.await {
            Ok(Ok(s)) => summaries.push(s),
            Ok(Err(e)) => {
                failure.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                failure.get_or_insert_with(|| format!("a file job panicked: {e}"));
            }
        }
    }
    drop(_reporter);
    let wall = started.elapsed().as_secs_f64();
    let counts = counters.snapshot();
    let summary = Summary {
        status: if failure.is_some() {
            JobStatus::Failed
        } else {
            JobStatus::Completed
        },
        failure_reason: failure,
        model_version: version,
        files: summaries,
        counts,
        wall_seconds: wall,
        records_per_second: counts.records as f64 / wall.max(1e-9),
    };
    let path = spec.output.join(SUMMARY_FILE);
    let tmp = spec.output.join(format!(".{SUMMARY_FILE}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(&summary).unwrap_or_default(),
    )?;
    std::fs::rename(&tmp, &path)?;
    match &summary.failure_reason {
        Some(r) => tracing::error!(reason = %r, records = counts.records, "transform job failed"),
        None => tracing::info!(
            records = counts.records,
            failed = counts.failed,
            wall_seconds = wall,
            "transform job completed"
        ),
    }
    Ok(summary)
}
