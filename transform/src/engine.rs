//! A transform job: the input files (this shard's share of them), run
//! `MaxConcurrentTransforms` at a time, and the summary, `transform-summary.json` in the
//! output folder. The summary is rewritten (at most once a second) as files finish, so a
//! rerun of the same job skips the files it lists as done; it is the only state left
//! beside the outputs once a job has succeeded.
use super::checkpoint::{identity, Checkpoint};
use super::file_job::{FileJob, FileSummary};
use super::fsio::{InputPath, OutDir};
use super::knobs::{InputKind, Knobs, OutputKind, SplitType, TransformSpec};
use super::progress::{Counters, Counts, JobStatus, Reporter, Stop};
use super::shard::{self, Shard};
use serde::{Deserialize, Serialize};
use serve::batcher::Batcher;
use serve::ServeError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Name of the summary written next to the outputs (`transform-summary.shard-K-of-C.json`
/// for a shard).
pub const SUMMARY_FILE: &str = "transform-summary.json";

/// What a job did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub status: JobStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub model_version: String,
    /// Digest of the knobs and the model version the outputs were made with.
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub files: Vec<FileSummary>,
    #[serde(flatten)]
    pub counts: Counts,
    pub wall_seconds: f64,
    pub records_per_second: f64,
    /// The signal that stopped the job, if one did.
    #[serde(skip)]
    pub signal: Option<i32>,
}

/// Options of one run that are not SageMaker knobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Report progress (bar on a terminal, log lines otherwise).
    pub progress: bool,
    /// This process's share of the input.
    pub shard: Option<Shard>,
    /// Stop cleanly on SIGINT and SIGTERM (`sentio transform`, `sentio predict`).
    pub signals: bool,
}

/// Runs a job on paths as given (`sentio transform`). An `Err` is a job that could not
/// start (bad knobs, paths); a job that ran and failed returns a `Failed` summary.
pub async fn run_transform(
    batcher: Batcher,
    spec: TransformSpec,
    counters: Arc<Counters>,
    options: RunOptions,
) -> Result<Summary, ServeError> {
    let (input, out) = (
        InputPath::ambient(&spec.input),
        OutDir::ambient(&spec.output)?,
    );
    run_job(
        batcher,
        spec,
        (input, out),
        counters,
        options,
        Arc::default(),
    )
    .await
}

/// Runs a job on opened paths until it ends or `stop` stops it.
#[tracing::instrument(skip_all, fields(input = %input.shown().display()))]
pub(crate) async fn run_job(
    batcher: Batcher,
    spec: TransformSpec,
    (input, out): (InputPath, OutDir),
    counters: Arc<Counters>,
    options: RunOptions,
    stop: Arc<Stop>,
) -> Result<Summary, ServeError> {
    let started = Instant::now();
    let knobs = Arc::new(Knobs::from_spec(&spec)?);
    let files = input.files(|name| {
        InputKind::from_name(name).is_some()
            || knobs.content_type.is_some() && !name.starts_with('.')
    })?;
    let version = batcher.info().version.clone();
    let fingerprint = format!("{}|{version}", spec.fingerprint());
    let fingerprint = format!("{:x}", Sha256::digest(fingerprint.as_bytes()));
    let out = Arc::new(out);
    let ledger = Ledger {
        name: match options.shard {
            Some(s) => format!("transform-summary.{}.json", s.suffix()),
            None => SUMMARY_FILE.into(),
        },
        template: Summary {
            model_version: version,
            fingerprint: fingerprint.clone(),
            shard: options.shard.map(|s| s.to_string()),
            ..Summary::default()
        },
        out: out.clone(),
        counters: counters.clone(),
        started,
        files: Mutex::new((Vec::new(), None)),
    };
    let done = ledger.prior();
    let mut jobs = Vec::with_capacity(files.len());
    let n = files.len();
    for (i, f) in files.into_iter().enumerate() {
        let name = f.name();
        let unknown = || ServeError::Invalid(format!("{name}: unknown format; set ContentType"));
        let kind = knobs.content_type.or_else(|| InputKind::from_name(&name));
        let kind = kind.ok_or_else(unknown)?;
        let accept = knobs.accept.unwrap_or(match kind {
            InputKind::Csv => OutputKind::Csv,
            _ => OutputKind::Json,
        });
        let shown = f.shown().display().to_string();
        let meta = f
            .open()
            .and_then(|f| f.metadata())
            .map_err(|e| ServeError::Invalid(format!("{shown}: {e}")))?;
        let cut = knobs.split == SplitType::Line && !name.to_ascii_lowercase().ends_with(".gz");
        let Some(part) = shard::part(options.shard, i, n, &name, meta.len(), cut) else {
            continue;
        };
        let bytes = meta.len().min(part.range.1);
        counters.total_bytes.fetch_add(bytes, Relaxed);
        let out_name = format!("{}.out", part.stem);
        let finished = done.get(&shown).filter(|s| {
            (s.input_bytes, s.input_mtime) == identity(&meta)
                && s.output == out.path(&out_name).display().to_string()
                && out.len(&out_name) == Some(s.output_bytes)
        });
        if let Some(s) = finished {
            tracing::info!(input = %shown, "already transformed; skipping");
            let c = Checkpoint {
                succeeded: s.succeeded,
                failed: s.failed,
                truncated: s.truncated,
                ..Default::default()
            };
            counters.add_done(&c, meta.len());
            let mut s = s.clone();
            s.resumed_records = s.records;
            ledger.add(i, s, false);
            continue;
        }
        jobs.push((
            i,
            FileJob {
                input: f,
                out: out.clone(),
                part,
                kind,
                accept,
                knobs: knobs.clone(),
                batcher: batcher.clone(),
                fingerprint: fingerprint.clone(),
                counters: counters.clone(),
                stop: stop.clone(),
                handle: tokio::runtime::Handle::current(),
            },
        ));
    }
    drop(batcher);
    let reporter = options.progress.then(|| Reporter::start(counters.clone()));
    let ledger = Arc::new(ledger);
    let limit = Arc::new(tokio::sync::Semaphore::new(knobs.max_concurrent));
    let mut handles = Vec::with_capacity(jobs.len());
    for (i, job) in jobs {
        let (limit, stop, ledger) = (limit.clone(), stop.clone(), ledger.clone());
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            if stop.stopped() {
                return;
            }
            match tokio::task::spawn_blocking(move || job.run()).await {
                Ok(Ok(s)) => ledger.add(i, s, true),
                Ok(Err(_)) => {} // the file job told `stop` why
                Err(e) => stop.fail(format!("a file job panicked: {e}")),
            }
        }));
    }
    for h in handles {
        if let Err(e) = h.await {
            stop.fail(format!("a file job panicked: {e}"));
        }
    }
    drop(reporter);
    let summary = ledger.finish(stop.outcome())?;
    let (c, reason) = (
        summary.counts,
        summary.failure_reason.as_deref().unwrap_or(""),
    );
    tracing::info!(status = ?summary.status, reason, records = c.records, failed = c.failed, "transform job ended");
    Ok(summary)
}

/// The summary file of a job: read back for a rerun, rewritten as files finish.
struct Ledger {
    out: Arc<OutDir>,
    name: String,
    template: Summary,
    counters: Arc<Counters>,
    started: Instant,
    /// Finished files by input index, and when the summary was last written.
    files: Mutex<Finished>,
}

/// Finished files by input index, and when the summary was last written.
type Finished = (Vec<(usize, FileSummary)>, Option<Instant>);

#[derive(Deserialize)]
struct Prior {
    fingerprint: String,
    files: Vec<FileSummary>,
}

impl Ledger {
    /// The files an earlier run of the same job finished, by input.
    fn prior(&self) -> HashMap<String, FileSummary> {
        let Some(bytes) = self.out.read(&self.name, 256 << 20) else {
            return HashMap::new();
        };
        match serde_json::from_slice::<Prior>(&bytes) {
            Ok(p) if p.fingerprint == self.template.fingerprint => {
                p.files.into_iter().map(|f| (f.input.clone(), f)).collect()
            }
            _ => HashMap::new(),
        }
    }

    /// Records a finished file; the summary is rewritten if it was not in the last second.
    fn add(&self, i: usize, s: FileSummary, write: bool) {
        let mut g = self.files.lock().unwrap_or_else(|p| p.into_inner());
        g.0.push((i, s));
        if write && g.1.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            g.1 = Some(Instant::now());
            let summary = self.summary(&g.0, None);
            if let Err(e) = self.write(&summary) {
                tracing::warn!(error = %e, "cannot write the transform summary");
            }
        }
    }

    fn summary(
        &self,
        files: &[(usize, FileSummary)],
        outcome: Option<(JobStatus, String, Option<i32>)>,
    ) -> Summary {
        let mut files = files.to_vec();
        files.sort_by_key(|(i, _)| *i);
        let wall = self.started.elapsed().as_secs_f64();
        let counts = self.counters.snapshot();
        let (status, failure_reason, signal) = match outcome {
            Some((status, reason, signal)) => (status, Some(reason), signal),
            None => (JobStatus::InProgress, None, None),
        };
        Summary {
            status,
            failure_reason,
            files: files.into_iter().map(|(_, f)| f).collect(),
            counts,
            wall_seconds: wall,
            records_per_second: counts.records as f64 / wall.max(1e-9),
            signal,
            ..self.template.clone()
        }
    }

    fn write(&self, s: &Summary) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?;
        self.out.write_atomic(&self.name, &bytes)
    }

    /// The final summary, written.
    fn finish(
        &self,
        outcome: Option<(JobStatus, String, Option<i32>)>,
    ) -> Result<Summary, ServeError> {
        let outcome = outcome.or(Some((JobStatus::Completed, String::new(), None)));
        let g = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let mut summary = self.summary(&g.0, outcome);
        if summary.status == JobStatus::Completed {
            summary.failure_reason = None;
        }
        self.write(&summary)?;
        Ok(summary)
    }
}
