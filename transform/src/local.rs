//! Jobs run on their own, not on a server: `sentio transform` ([`run_local_job`]) and
//! `sentio predict` ([`run_local_stream`]). Each builds a runtime, loads the model into a
//! [`Batcher`], runs, and before returning — on success, error, budget exceeded or signal —
//! waits for the model thread to finish its forward pass and drop the model, so the
//! process never exits under a running libtorch kernel.
use super::engine::{run_job, RunOptions, Summary};
use super::fsio::{InputPath, OutDir};
use super::knobs::{InputKind, Knobs, TransformSpec};
use super::pipeline::{outcomes, Feed, FeedConfig, Next};
use super::progress::{Counters, Counts, JobStatus, Stop};
use super::reader::{RecordReader, Records};
use super::record::{Input, RecordError};
use models::{Prediction, Predictor};
use serve::batcher::INLINE_TOKENIZE_BYTES;
use serve::batcher::{BatchConfig, Batcher, Encoder, InferenceBackend, ModelInfo, TokenizerPool};
use serve::ServeError;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Runtime;

/// The model of a job run on its own.
#[derive(Debug, Clone)]
pub struct LocalModel {
    /// Artifact directory.
    pub path: PathBuf,
    pub device: tch::Device,
    pub batch: BatchConfig,
    pub tokenizer_threads: usize,
}

/// Runs a transform job on its own. An `Err` is a job that could not start; a job that
/// ran and failed or was stopped returns a `Failed` or `Stopped` summary.
pub fn run_local_job(
    model: LocalModel,
    spec: TransformSpec,
    options: RunOptions,
) -> Result<Summary, ServeError> {
    Knobs::from_spec(&spec)?;
    with_model(&model, options, |batcher, runtime, stop| {
        let (input, out) = (
            InputPath::ambient(&spec.input),
            OutDir::ambient(&spec.output)?,
        );
        let counters = Arc::new(Counters::default());
        runtime.block_on(run_job(
            batcher,
            spec,
            (input, out),
            counters,
            options,
            stop,
        ))
    })
}

/// Where `sentio predict` reads: a stream of lines, or the texts given.
pub enum StreamInput {
    Lines(Box<dyn Read + Send>),
    Texts(Vec<String>),
}

/// One record of a stream and its outcome, in input order.
pub struct StreamRecord<'a> {
    pub line: u64,
    pub text: Option<&'a str>,
    pub labels: &'a [String],
    pub model_version: &'a str,
    pub outcome: Result<(&'a Prediction, bool), &'a RecordError>,
}

/// Takes a stream's results.
pub trait StreamSink {
    fn record(&mut self, r: StreamRecord<'_>) -> io::Result<()>;
    /// A chunk of records has been given (a good moment to flush).
    fn flush(&mut self) -> io::Result<()>;
}

/// How a stream ended.
#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub status: JobStatus,
    pub counts: Counts,
    pub signal: Option<i32>,
}

/// Predicts every text of `input` through the same engine as a transform job (the same
/// reader, chunks and batcher), giving each result to `sink` in input order. Lines over
/// `MaxPayloadInMB` (6 MB) and blank lines fail on their own.
pub fn run_local_stream(
    model: LocalModel,
    input: StreamInput,
    sink: &mut dyn StreamSink,
    options: RunOptions,
) -> Result<StreamSummary, ServeError> {
    let knobs = Arc::new(Knobs::from_spec(&TransformSpec::new("-", "-"))?);
    let (records, detach): (Box<dyn Records>, bool) = match input {
        StreamInput::Lines(r) => (
            Box::new(RecordReader::stream(r, knobs.max_payload_bytes)),
            true,
        ),
        StreamInput::Texts(t) => (Box::new(t.into_iter()), false),
    };
    with_model(&model, options, |batcher, runtime, stop| {
        let version = batcher.info().version.clone();
        let labels = batcher.info().labels.clone();
        let config = FeedConfig {
            kind: InputKind::Text,
            header: None,
            knobs,
            keep_input: true,
            cut_when_dry: true,
        };
        let handle = runtime.handle().clone();
        let mut feed = Feed::start(records, 0, config, batcher, handle, stop.clone())?;
        let mut counts = Counts::default();
        let result = (|| loop {
            let (chunk, predicted) = match feed.next()? {
                Next::Chunk(c, p) => (c, p),
                Next::End | Next::Stopped => return Ok::<_, ServeError>(()),
            };
            for (line, outcome) in outcomes(chunk.records, predicted) {
                let (text, outcome) = match &outcome {
                    Ok((input, p, truncated)) => {
                        counts.succeeded += 1;
                        counts.truncated += *truncated as u64;
                        let text = match input {
                            Some(Input::Text(t)) => Some(t.as_str()),
                            _ => None,
                        };
                        (text, Ok((p, *truncated)))
                    }
                    Err(e) => {
                        counts.failed += 1;
                        (None, Err(e))
                    }
                };
                let (labels, model_version) = (&labels[..], &version[..]);
                sink.record(StreamRecord {
                    line,
                    text,
                    labels,
                    model_version,
                    outcome,
                })?;
            }
            sink.flush()?;
        })();
        if result.is_err() {
            stop.fail("the output failed".into());
        }
        feed.finish(detach && stop.stopped());
        result?;
        counts.records = counts.succeeded + counts.failed;
        let stopped = stop.outcome().filter(|o| o.0 == JobStatus::Stopped);
        let status = stopped.as_ref().map_or(JobStatus::Completed, |o| o.0);
        let signal = stopped.and_then(|o| o.2);
        Ok(StreamSummary {
            status,
            counts,
            signal,
        })
    })
}

/// Runs `f` with the model loaded; returns only once the model thread has ended.
fn with_model<T>(
    model: &LocalModel,
    options: RunOptions,
    f: impl FnOnce(Batcher, &Runtime, Arc<Stop>) -> Result<T, ServeError>,
) -> Result<T, ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sentio-transform")
        .build()?;
    let stop = Arc::new(Stop::default());
    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<()>();
    let result = (|| {
        if options.signals {
            watch_signals(&runtime, stop.clone())?;
        }
        let batcher = runtime.block_on(load(model, exit_tx))?;
        f(batcher, &runtime, stop)
    })();
    // Dropping the runtime drops every task and with them the batcher's queue, which ends
    // the model thread once its current batch is done; its backend then says so.
    drop(runtime);
    let _ = exit_rx.recv();
    result
}

/// SIGINT and SIGTERM stop the job (each file checkpointed at a chunk boundary).
fn watch_signals(runtime: &Runtime, stop: Arc<Stop>) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let _g = runtime.enter();
    for (kind, n, name) in [
        (SignalKind::interrupt(), 2, "SIGINT"),
        (SignalKind::terminate(), 15, "SIGTERM"),
    ] {
        let mut s = signal(kind)?;
        let stop = stop.clone();
        runtime.spawn(async move {
            if s.recv().await.is_some() {
                tracing::warn!(signal = name, "stopping: finishing the chunks in flight");
                stop.end(JobStatus::Stopped, format!("stopped by {name}"), Some(n));
            }
        });
    }
    Ok(())
}

/// The model on its own thread, behind a batcher (`Batcher::load` without the warm-up a
/// server needs), with `exit` dropped when the model thread ends.
async fn load(
    model: &LocalModel,
    exit: std::sync::mpsc::Sender<()>,
) -> Result<Batcher, ServeError> {
    let started = Instant::now();
    let (path, device) = (model.path.clone(), model.device);
    let predictor = tokio::task::spawn_blocking(move || Predictor::load(&path, device))
        .await
        .map_err(|e| ServeError::Internal(format!("model loading panicked: {e}")))?
        .map_err(|source| ServeError::ModelLoad {
            reference: model.path.display().to_string(),
            source,
        })?;
    let info = ModelInfo {
        version: predictor.version().to_string(),
        labels: predictor.labels().to_vec(),
        max_len: predictor.max_len(),
        architecture: predictor.architecture().to_string(),
        load_seconds: started.elapsed().as_secs_f64(),
    };
    let tokenizer = predictor.model().tokenizer.clone();
    let inline = (tokenizer.has_fast_ids() as usize) * INLINE_TOKENIZE_BYTES;
    let max_len = info.max_len;
    let encoder: Encoder = Arc::new(move |texts| tokenizer.encode_batch(texts, max_len));
    let pool = TokenizerPool::new(model.tokenizer_threads, 64);
    let (backend, batch) = (Local(predictor, exit), model.batch.clone());
    let batcher = Batcher::start(backend, encoder, info, "transform", batch, pool);
    Ok(batcher.inline_tokenization(inline))
}

/// The model, and a sender dropped with it when the model thread ends (kept for its drop).
struct Local(Predictor, #[allow(dead_code)] std::sync::mpsc::Sender<()>);

impl InferenceBackend for Local {
    fn predict(&mut self, batch: &[&[i64]]) -> models::Result<Vec<models::Result<Prediction>>> {
        // A batch of one runs another kernel (a matrix-vector product) whose last bits can
        // differ; run it as two, so a record's probabilities do not depend on how records
        // happened to be batched (a sharded job's parts equal a single run byte for byte).
        if let [one] = batch {
            let mut r = self.0.predict_encoded(&[one, one])?;
            r.truncate(1);
            return Ok(r);
        }
        self.0.predict_encoded(batch)
    }
}
