//! Dynamic batching for one model, as an actor (text-embeddings-inference style).
//!
//! ```text
//! Batcher (cloneable handle)
//!   └─ tokenize on the TokenizerPool ─▶ bounded queue ─▶ batching task (queue.rs)
//!                                                          └─ 1-slot channel ─▶ model thread (worker.rs)
//! ```
//! Each text becomes one queue entry answered on its own oneshot, so requests share
//! batches, a caller that goes away leaves closed entries that are dropped before inference,
//! and one bad input fails only itself. Batch transform and A/B reuse this type.
mod pool;
mod queue;
mod worker;

pub use pool::TokenizerPool;

use crate::error::ServeError;
use crate::telemetry::BatcherMetrics;
use models::{Encoded, Prediction, Predictor};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Batching limits of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// Most inputs in one forward pass.
    pub max_batch_size: usize,
    /// Most padded tokens (longest input × batch size) in one forward pass; an input is
    /// truncated to the model's maximum length, so it always fits a batch of its own.
    pub max_batch_tokens: usize,
    /// How long the first input of a batch may wait for others (zero: take what is
    /// queued, like TEI; batches still form while the model is busy).
    pub max_queue_delay: Duration,
    /// Inputs waiting for the model, at most; beyond it `try_predict` answers overloaded.
    pub queue_capacity: usize,
    /// Tests and benchmarks only: the model thread sleeps this long after each batch, as a
    /// slower model would (bench/proxy_scaling.sh measures the front proxy with it, so the
    /// machine's cores are not the limit). Zero otherwise.
    pub inject_latency: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_size: 64,
            max_batch_tokens: 16_384,
            max_queue_delay: Duration::ZERO,
            queue_capacity: 2048,
            inject_latency: Duration::ZERO,
        }
    }
}

/// Runs a batch of token-id sequences. The outer error fails the whole batch, an inner one
/// only its input. Implemented by `Predictor`; tests use fakes.
pub trait InferenceBackend: Send + 'static {
    fn predict(&mut self, batch: &[&[i64]]) -> models::Result<Vec<models::Result<Prediction>>>;
}

impl InferenceBackend for Predictor {
    fn predict(&mut self, batch: &[&[i64]]) -> models::Result<Vec<models::Result<Prediction>>> {
        self.predict_encoded(batch)
    }
}

/// Requests with at most this many bytes of text are tokenized inline when the encoder is
/// the ids-only WordPiece path: about 40 reviews, ~0.1 ms of work (the path runs at
/// ~120 MB/s per thread); see [`Batcher::inline_tokenization`].
pub const INLINE_TOKENIZE_BYTES: usize = 16 * 1024;

/// Turns texts into token ids (thread-safe; runs on the tokenizer pool).
pub type Encoder = Arc<dyn Fn(&[&str]) -> models::Result<Vec<Encoded>> + Send + Sync>;

/// What a batcher serves.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub version: String,
    pub labels: Vec<String>,
    pub max_len: usize,
    pub architecture: String,
    pub load_seconds: f64,
}

/// Counters of a batcher (also exported as metrics).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct BatcherStats {
    pub batches: u64,
    pub items: u64,
    pub largest_batch: u64,
    pub queue_depth: u64,
    /// Entries dropped before inference because their caller went away.
    pub dropped: u64,
}

pub type ItemResult = Result<Prediction, ServeError>;

struct Entry {
    ids: Vec<i64>,
    reply: oneshot::Sender<ItemResult>,
    enqueued: Instant,
    span: tracing::Span,
}

struct Shared {
    metrics: BatcherMetrics,
    batches: AtomicU64,
    items: AtomicU64,
    largest: AtomicU64,
    depth: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    fn enqueued(&self) {
        let d = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.metrics.queue_depth.set(d as f64);
    }
    fn dequeued(&self) {
        let d = self.depth.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        self.metrics.queue_depth.set(d as f64);
    }
    fn dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        self.metrics.abandoned.increment(n as u64);
    }
    fn record_batch(&self, n: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(n as u64, Ordering::Relaxed);
        self.largest.fetch_max(n as u64, Ordering::Relaxed);
    }
}

/// Cloneable handle to one model's batching pipeline. The model thread and the batching
/// task stop once every handle is gone and the queue is drained.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Entry>,
    encoder: Encoder,
    pool: TokenizerPool,
    /// Requests whose texts total at most this many bytes are tokenized on the calling
    /// task instead of the pool (0: never).
    inline_bytes: usize,
    info: Arc<ModelInfo>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("info", &self.info)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Batcher {
    /// Loads an artifact on a blocking thread, warms it up with a few predictions, and
    /// starts its batching task and model thread. `variant` labels the metrics.
    #[tracing::instrument(skip(config, pool), fields(path = %path.display()))]
    pub async fn load(
        path: &Path,
        device: tch::Device,
        variant: &str,
        config: BatchConfig,
        pool: TokenizerPool,
    ) -> Result<Batcher, ServeError> {
        let started = Instant::now();
        let p = path.to_path_buf();
        let loaded = tokio::task::spawn_blocking(move || -> models::Result<Predictor> {
            let predictor = Predictor::load(&p, device)?;
            // Warm-up: the first forward passes allocate and pick kernels.
            let warm = [
                "warm up",
                "a slightly longer warm-up review text for the model",
            ];
            for _ in 0..3 {
                predictor.predict(&warm)?;
            }
            Ok(predictor)
        })
        .await
        .map_err(|e| ServeError::Internal(format!("model loading panicked: {e}")))?;
        let predictor = loaded.map_err(|source| ServeError::ModelLoad {
            reference: path.display().to_string(),
            source,
        })?;
        let load_seconds = started.elapsed().as_secs_f64();
        let info = ModelInfo {
            version: predictor.version().to_string(),
            labels: predictor.labels().to_vec(),
            max_len: predictor.max_len(),
            architecture: predictor.architecture().to_string(),
            load_seconds,
        };
        crate::telemetry::record_model_load(variant, &info.version, load_seconds);
        tracing::info!(variant, version = %info.version, load_seconds, "model loaded and warmed");
        let tokenizer = predictor.model().tokenizer.clone();
        let inline = if tokenizer.has_fast_ids() {
            INLINE_TOKENIZE_BYTES
        } else {
            0
        };
        let max_len = info.max_len;
        let encoder: Encoder = Arc::new(move |texts| tokenizer.encode_batch(texts, max_len));
        Ok(
            Batcher::start(predictor, encoder, info, variant, config, pool)
                .inline_tokenization(inline),
        )
    }

    /// Starts a batcher over any backend (the model thread takes ownership of it).
    pub fn start<B: InferenceBackend>(
        backend: B,
        encoder: Encoder,
        info: ModelInfo,
        variant: &str,
        config: BatchConfig,
        pool: TokenizerPool,
    ) -> Batcher {
        let shared = Arc::new(Shared {
            metrics: BatcherMetrics::new(variant, &info.version),
            batches: AtomicU64::new(0),
            items: AtomicU64::new(0),
            largest: AtomicU64::new(0),
            depth: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (model_tx, model_rx) = mpsc::channel(1);
        let s = shared.clone();
        let delay = config.inject_latency;
        std::thread::Builder::new()
            .name(format!("model-{variant}"))
            .spawn(move || worker::run(backend, model_rx, s, delay))
            .expect("spawning the model thread");
        tokio::spawn(queue::run(rx, model_tx, config, shared.clone()));
        Batcher {
            tx,
            encoder,
            pool,
            inline_bytes: 0,
            info: Arc::new(info),
            shared,
        }
    }

    /// Tokenizes requests whose texts total at most `max_bytes` on the calling task
    /// instead of the tokenizer pool: for a fast encoder (the ids-only WordPiece path takes
    /// ~3 µs per review) the two thread hand-offs of the pool cost more than the work.
    /// Larger requests still go to the pool, off the async runtime.
    pub fn inline_tokenization(mut self, max_bytes: usize) -> Batcher {
        self.inline_bytes = max_bytes;
        self
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn stats(&self) -> BatcherStats {
        BatcherStats {
            batches: self.shared.batches.load(Ordering::Relaxed),
            items: self.shared.items.load(Ordering::Relaxed),
            largest_batch: self.shared.largest.load(Ordering::Relaxed),
            queue_depth: self.shared.depth.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Predicts texts, waiting for room in the queue (backpressure; for batch jobs). The
    /// outer error fails the call; an inner one belongs to that text.
    pub async fn predict(&self, texts: Vec<String>) -> Result<Vec<ItemResult>, ServeError> {
        self.submit(texts, false).await
    }

    /// Like `predict`, but answers `Overloaded` at once when the queue is full (serving).
    pub async fn try_predict(&self, texts: Vec<String>) -> Result<Vec<ItemResult>, ServeError> {
        self.submit(texts, true).await
    }

    /// Like `predict`, also telling of each text whether it was truncated to the model's
    /// maximum length (batch transform counts them).
    pub async fn predict_marked(
        &self,
        texts: Vec<String>,
    ) -> Result<Vec<(ItemResult, bool)>, ServeError> {
        self.submit_marked(texts, false).await
    }

    async fn submit(
        &self,
        texts: Vec<String>,
        fail_fast: bool,
    ) -> Result<Vec<ItemResult>, ServeError> {
        let marked = self.submit_marked(texts, fail_fast).await?;
        Ok(marked.into_iter().map(|(r, _)| r).collect())
    }

    async fn submit_marked(
        &self,
        texts: Vec<String>,
        fail_fast: bool,
    ) -> Result<Vec<(ItemResult, bool)>, ServeError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let texts_bytes: usize = texts.iter().map(String::len).sum();
        if fail_fast && self.tx.capacity() < texts.len() {
            crate::telemetry::record_shed("queue_full");
            return Err(ServeError::Overloaded(format!(
                "the model queue is full ({} waiting)",
                self.shared.depth.load(Ordering::Relaxed)
            )));
        }
        let t = Instant::now();
        let encoder = self.encoder.clone();
        let encode = move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            encoder(&refs)
        };
        let inline = texts_bytes <= self.inline_bytes;
        let encoded = if inline {
            encode()
        } else {
            self.pool.run(encode).await?
        }
        .map_err(|e| ServeError::Invalid(format!("cannot tokenize the input: {e}")))?;
        self.shared
            .metrics
            .tokenization_duration
            .record(t.elapsed().as_secs_f64());
        let span = tracing::Span::current();
        let mut waiting = Vec::with_capacity(encoded.len());
        let truncated: Vec<bool> = encoded.iter().map(Encoded::truncated).collect();
        for enc in encoded {
            let (reply, rx) = oneshot::channel();
            let entry = Entry {
                ids: enc.ids,
                reply,
                enqueued: Instant::now(),
                span: span.clone(),
            };
            self.shared.enqueued();
            let sent = if fail_fast {
                self.tx.try_send(entry).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => {
                        crate::telemetry::record_shed("queue_full");
                        ServeError::Overloaded("the model queue is full".into())
                    }
                    mpsc::error::TrySendError::Closed(_) => stopped(),
                })
            } else {
                self.tx.send(entry).await.map_err(|_| stopped())
            };
            if let Err(e) = sent {
                self.shared.dequeued();
                return Err(e);
            }
            waiting.push(rx);
        }
        let mut out = Vec::with_capacity(waiting.len());
        for (rx, t) in waiting.into_iter().zip(truncated) {
            out.push((rx.await.map_err(|_| stopped())?, t));
        }
        Ok(out)
    }
}

fn stopped() -> ServeError {
    ServeError::Unavailable("the model worker has stopped".into())
}

#[cfg(test)]
mod tests;
