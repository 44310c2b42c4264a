//! Transform jobs on a running server: a registry of jobs started by
//! `POST /transform-jobs` and described by `GET /transform-jobs/{id}` (the routes are
//! `serve`'s; they reach these jobs as [`serve::TransformJobs`]).
use super::engine::{run_job, RunOptions, Summary};
use super::fsio::Roots;
use super::knobs::TransformSpec;
use super::progress::{Counters, Counts, JobStatus};
use serde::Serialize;
use serde_json::Value;
use serve::batcher::Batcher;
use serve::ServeError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Jobs running at once, at most; more are refused with 429.
pub const MAX_RUNNING_JOBS: usize = 4;

/// What `GET /transform-jobs/{id}` answers.
#[derive(Debug, Clone, Serialize)]
pub struct JobDescription {
    #[serde(rename = "TransformJobName")]
    pub id: String,
    #[serde(rename = "TransformJobStatus")]
    pub status: JobStatus,
    #[serde(rename = "FailureReason", skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub input: PathBuf,
    pub output: PathBuf,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

struct Job {
    input: PathBuf,
    output: PathBuf,
    created_at: chrono::DateTime<chrono::Utc>,
    counters: Arc<Counters>,
    outcome: Mutex<Option<Result<Summary, String>>>,
}

/// The jobs of one server, and the roots their paths must lie in (opened once).
pub struct Jobs {
    roots: Roots,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl Jobs {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        Jobs {
            roots: Roots::open(&roots),
            jobs: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves the paths beneath the roots, then starts the job on `batcher` and returns
    /// its id.
    pub fn start(&self, batcher: Batcher, spec: TransformSpec) -> Result<String, ServeError> {
        super::knobs::Knobs::from_spec(&spec)?;
        let input = self.roots.input(&spec.input)?;
        input.files(|_| true)?; // a link out of the root anywhere in the input: 403 now
        let running = self
            .lock()
            .values()
            .filter(|j| j.outcome.lock().map(|o| o.is_none()).unwrap_or(false))
            .count();
        if running >= MAX_RUNNING_JOBS {
            return Err(ServeError::Overloaded(format!(
                "{running} transform jobs are running; at most {MAX_RUNNING_JOBS}"
            )));
        }
        let output = self.roots.output(&spec.output)?;
        let id = format!("transform-{}", uuid::Uuid::new_v4());
        let job = Arc::new(Job {
            input: input.shown().to_path_buf(),
            output: output.shown().to_path_buf(),
            created_at: chrono::Utc::now(),
            counters: Arc::new(Counters::default()),
            outcome: Mutex::new(None),
        });
        self.lock().insert(id.clone(), job.clone());
        tracing::info!(%id, input = %input.shown().display(), "transform job started");
        tokio::spawn(async move {
            let (counters, options, stop) =
                (job.counters.clone(), RunOptions::default(), Arc::default());
            let r = run_job(batcher, spec, (input, output), counters, options, stop).await;
            *job.outcome.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(r.map_err(|e| e.to_string()));
        });
        Ok(id)
    }

    pub fn describe(&self, id: &str) -> Result<JobDescription, ServeError> {
        let job = self
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ServeError::NotFound(format!("no transform job {id:?}")))?;
        let outcome = job
            .outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (status, failure_reason, summary) = match outcome {
            None => (JobStatus::InProgress, None, None),
            Some(Ok(s)) => (s.status, s.failure_reason.clone(), Some(s)),
            Some(Err(e)) => (JobStatus::Failed, Some(e), None),
        };
        Ok(JobDescription {
            id: id.to_string(),
            status,
            failure_reason,
            input: job.input.clone(),
            output: job.output.clone(),
            created_at: job.created_at,
            counts: job.counters.snapshot(),
            summary,
        })
    }
}

impl serve::TransformJobs for Jobs {
    fn start(&self, batcher: Batcher, spec: Value) -> Result<Value, ServeError> {
        let spec: TransformSpec = serde_json::from_value(spec)
            .map_err(|e| ServeError::Malformed(format!("invalid transform job: {e}")))?;
        let id = Jobs::start(self, batcher, spec)?;
        serve::TransformJobs::describe(self, &id)
    }

    fn describe(&self, id: &str) -> Result<Value, ServeError> {
        let d = Jobs::describe(self, id)?;
        Ok(serde_json::to_value(d).unwrap_or_default())
    }
}
