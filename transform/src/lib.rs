//! Batch transform: files of records → predictions, with SageMaker's transform-job knobs.
//! Jobs run on their own (`sentio transform`, `sentio predict`) or on a server
//! (`POST /transform-jobs`, through `serve`'s [`TransformJobs`](serve::TransformJobs)).
//!
//! | file | job |
//! |---|---|
//! | `knobs.rs` | `TransformSpec` (SageMaker names) and validated `Knobs` |
//! | `reader.rs` | files (gzip looked through) and streams as bounded records with offsets |
//! | `record.rs` | one record → text (InputFilter) or a `RecordError`; CSV headers |
//! | `output.rs` | prediction → output bytes (JoinSource, OutputFilter, Accept) |
//! | `pipeline.rs` | records → chunks → predictions in flight, in input order |
//! | `file_job.rs` | one file's pipeline, `.out` / `.err`, checkpoints, atomic finish |
//! | `checkpoint.rs` | durable progress of one file |
//! | `shard.rs` | `--shard INDEX/COUNT`: whole files or byte ranges per process |
//! | `engine.rs` | a job: files in parallel, the summary (and what a rerun skips) |
//! | `local.rs` | jobs on their own (`sentio transform`, `sentio predict`): signals, model thread joined |
//! | `progress.rs` | live counters, progress bar or log lines, stopping |
//! | `fsio.rs` | files through directory handles: roots, exclusive no-follow outputs |
//! | `jobs.rs` | a server's jobs (`POST /transform-jobs`, `GET /transform-jobs/{id}`) |
//!
//! Predictions go through the serving [`Batcher`](serve::Batcher) (tokenizer pool, dynamic
//! batches, model thread), so a job shares a server's model when run there.
mod checkpoint;
mod engine;
mod file_job;
mod fsio;
mod jobs;
mod knobs;
mod local;
mod output;
mod pipeline;
mod progress;
mod reader;
mod record;
mod shard;

pub use engine::{run_transform, RunOptions, Summary, SUMMARY_FILE};
pub use file_job::FileSummary;
pub use jobs::{JobDescription, Jobs};
pub use knobs::{
    validate as validate_spec, AssembleWith, BatchStrategy, DataProcessing, JoinSource, SplitType,
    TransformSpec, DEFAULT_MAX_PAYLOAD_MB, MAX_MAX_PAYLOAD_MB,
};
pub use local::{
    run_local_job, run_local_stream, LocalModel, StreamInput, StreamRecord, StreamSink,
    StreamSummary,
};
pub use progress::{Counters, Counts, JobStatus};
pub use record::RecordError;
pub use shard::Shard;
