//! Batch transform: files of records → predictions, with SageMaker's transform-job knobs.
//!
//! | file | job |
//! |---|---|
//! | `knobs.rs` | `TransformSpec` (SageMaker names) and validated `Knobs` |
//! | `reader.rs` | files (gzip looked through) as bounded records with offsets |
//! | `record.rs` | one record → text (InputFilter) or a `RecordError` |
//! | `output.rs` | prediction → output bytes (JoinSource, OutputFilter, Accept) |
//! | `file_job.rs` | one file's pipeline, `.out` / `.err`, checkpoints, atomic finish |
//! | `checkpoint.rs` | durable progress of one file |
//! | `engine.rs` | a job: files in parallel, the summary |
//! | `progress.rs` | live counters, progress bar or log lines |
//! | `paths.rs` | confinement of server-side job paths to roots |
//! | `jobs.rs`, `api.rs` | `POST /transform-jobs`, `GET /transform-jobs/{id}` |
//!
//! Predictions go through the serving [`Batcher`](crate::Batcher) (tokenizer pool, dynamic
//! batches, model thread), so a job shares a server's model when run there.
pub(crate) mod api;
mod checkpoint;
mod engine;
mod file_job;
mod jobs;
mod knobs;
mod output;
mod paths;
mod progress;
mod reader;
mod record;

pub use engine::{
    discover, run_local_job, run_transform, JobStatus, LocalModel, RunOptions, Summary,
    SUMMARY_FILE,
};
pub use file_job::FileSummary;
pub use jobs::{JobDescription, TransformJobs};
pub use knobs::{
    validate as validate_spec, AssembleWith, BatchStrategy, DataProcessing, JoinSource, SplitType,
    TransformSpec, DEFAULT_MAX_PAYLOAD_MB, MAX_MAX_PAYLOAD_MB,
};
pub use paths::confine;
pub use progress::{Counters, Counts};
pub use record::RecordError;
