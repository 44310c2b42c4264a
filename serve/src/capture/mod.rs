//! Data capture: a sampled copy of requests and responses written asynchronously to
//! hourly-rotated JSON-lines files, `<dir>/<endpoint>/<variant>/YYYY/MM/DD/HH/*.jsonl`, in
//! SageMaker Model Monitor's record shape ([`CaptureRecord`]).
//!
//! Serving never waits for capture: a serving thread copies a sampled exchange flat into
//! its own [`Block`] (one copy, nothing formatted, no allocation or channel message per
//! request) and hands the block to the writer thread once it holds [`BLOCK_BYTES`]; the
//! writer also takes partly filled blocks every [`writer::FLUSH_EVERY`]. At most
//! [`CaptureConfig::buffer`] records wait for the writer; beyond that a record is dropped
//! and counted (`sentio_capture_dropped_total`). The writer makes the event ids and lines,
//! owns the files and flushes them.
mod block;
mod record;
mod writer;

pub use block::Block;
pub use record::{
    base64_decode, base64_encode, labels_of_json, CaptureData, CaptureRecord, EventMetadata,
    Payload, Pending,
};
pub use writer::{
    for_each_line, hour_end, jsonl_files, read_dir as read_capture_dir,
    visit_dir as visit_capture_dir,
};

use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

pub const CAPTURED: &str = "sentio_capture_records_total";
pub const CAPTURE_DROPPED: &str = "sentio_capture_dropped_total";
pub const CAPTURE_WRITE_ERRORS: &str = "sentio_capture_write_errors_total";

/// Where and how much to capture.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureConfig {
    /// Root of the capture tree.
    pub dir: PathBuf,
    /// Share of requests captured, 0–100.
    pub sampling_percent: f64,
    /// Records waiting for the writer, at most; beyond it records are dropped.
    pub buffer: usize,
}

impl CaptureConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CaptureConfig {
            dir: dir.into(),
            sampling_percent: 100.0,
            buffer: 4096,
        }
    }
}

/// Counters of one capture handle.
#[derive(Debug, Default)]
pub struct CaptureStats {
    pub sampled: AtomicU64,
    pub dropped: AtomicU64,
    pub written: AtomicU64,
    pub write_errors: AtomicU64,
    /// Records the writer has taken (written or failed): `sampled - dropped - taken` wait.
    taken: AtomicU64,
}

/// A snapshot of [`CaptureStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CaptureCounts {
    pub sampled: u64,
    pub dropped: u64,
    pub written: u64,
    pub write_errors: u64,
}

/// A serving thread hands its block to the writer once it holds this many bytes (~230
/// records of a typical 1.1 kB line).
pub const BLOCK_BYTES: usize = 256 * 1024;

/// What the capture handles and the writer share.
struct Shared {
    config: CaptureConfig,
    stats: CaptureStats,
    /// The blocks being filled; a thread uses the one its number picks (so each serving
    /// thread its own while there are no more of them than shards).
    shards: Box<[Mutex<Block>]>,
    /// Emptied blocks, given back by the writer for the serving threads to fill again.
    spare: Mutex<Vec<Block>>,
    /// A block is handed over at this many records at the latest (or at [`BLOCK_BYTES`]):
    /// the shards' share of `buffer`, so that records waiting in partly filled blocks
    /// alone never reach the bound, however many serving threads there are.
    block_records: usize,
}

impl Shared {
    fn new_block(&self) -> Block {
        self.spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| Block::with_capacity(BLOCK_BYTES + 16 * 1024))
    }

    /// Every partly filled block, each replaced by an empty one (for the writer).
    fn take_partial(&self) -> Vec<Block> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut b = shard.lock().unwrap_or_else(PoisonError::into_inner);
            if !b.is_empty() {
                let fresh = self.new_block();
                out.push(std::mem::replace(&mut *b, fresh));
            }
        }
        out
    }

    /// Takes back a block the writer is done with (a few are kept).
    fn recycle(&self, mut block: Block) {
        block.clear();
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < 2 * self.shards.len() {
            spare.push(block);
        }
    }
}

/// This thread's number, for picking a shard.
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

/// The cloneable capture handle used by the routes.
#[derive(Clone)]
pub struct Capture {
    tx: SyncSender<Block>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Capture {
    /// Starts the writer thread for `endpoint`.
    pub fn start(config: CaptureConfig, endpoint: &str) -> std::io::Result<Capture> {
        let (capture, rx) = Capture::unstarted(config);
        let root = capture.shared.config.dir.join(endpoint);
        let shared = capture.shared.clone();
        std::thread::Builder::new()
            .name("sentio-capture".into())
            .spawn(move || writer::run(root, rx, shared))?;
        Ok(capture)
    }

    /// A handle whose full blocks go to the returned receiver (and whose partly filled
    /// ones nobody takes): for tests.
    fn unstarted(config: CaptureConfig) -> (Capture, Receiver<Block>) {
        // At most `buffer` records wait, so at most that many blocks (with a cap: a block
        // handed over holds ~230 records).
        let (tx, rx) = sync_channel(config.buffer.clamp(1, 4096));
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| 2 * n.get())
            .max(4);
        let shared = Shared {
            block_records: (config.buffer / shards).max(1),
            config,
            stats: CaptureStats::default(),
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            spare: Mutex::default(),
        };
        (
            Capture {
                tx,
                shared: Arc::new(shared),
            },
            rx,
        )
    }

    /// Whether this request is to be captured (the sampling decision).
    pub fn sample(&self) -> bool {
        let p = self.shared.config.sampling_percent;
        p >= 100.0 || (p > 0.0 && rand::random::<f64>() * 100.0 < p)
    }

    /// Captures an exchange, timed now, without waiting: it is copied into this thread's
    /// block, or dropped and counted when `buffer` records already wait for the writer.
    pub fn submit(&self, e: &Exchange<'_>) {
        self.submit_at(e, &Utc::now());
    }

    /// [`Capture::submit`] with the capture time given.
    pub fn submit_at(&self, e: &Exchange<'_>, time: &DateTime<Utc>) {
        let s = &*self.shared;
        let sampled = s.stats.sampled.fetch_add(1, Ordering::Relaxed) + 1;
        let gone = s.stats.taken.load(Ordering::Relaxed) + s.stats.dropped.load(Ordering::Relaxed);
        if sampled.saturating_sub(gone) > s.config.buffer as u64 {
            self.count_dropped(e.variant, 1);
            return;
        }
        let full = {
            let shard = &s.shards[thread_number() % s.shards.len()];
            let mut block = shard.lock().unwrap_or_else(PoisonError::into_inner);
            block.push(e, time);
            if block.bytes() < BLOCK_BYTES && block.records() < s.block_records {
                return;
            }
            let fresh = s.new_block();
            std::mem::replace(&mut *block, fresh)
        };
        if let Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) = self.tx.try_send(full) {
            // Only when the writer is gone (or far behind on tiny blocks): each record
            // counted as dropped under its variant.
            let mut by_variant: Vec<(String, u64)> = Vec::new();
            b.for_each(
                |e, _| match by_variant.iter_mut().find(|(v, _)| v == e.variant) {
                    Some((_, n)) => *n += 1,
                    None => by_variant.push((e.variant.to_string(), 1)),
                },
            );
            for (v, n) in by_variant {
                self.count_dropped(&v, n);
            }
        }
    }

    fn count_dropped(&self, variant: &str, n: u64) {
        self.shared.stats.dropped.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(CAPTURE_DROPPED, "variant" => variant.to_string()).increment(n);
    }

    pub fn config(&self) -> &CaptureConfig {
        &self.shared.config
    }

    pub fn counts(&self) -> CaptureCounts {
        let s = &self.shared.stats;
        CaptureCounts {
            sampled: s.sampled.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Relaxed),
        }
    }
}

/// What the routes know about one answered request.
#[derive(Clone, Copy)]
pub struct Exchange<'a> {
    pub variant: &'a str,
    pub model_version: &'a str,
    pub inference_id: &'a str,
    pub input_content_type: &'a str,
    pub input: &'a [u8],
    pub output_content_type: &'a str,
    pub output: &'a [u8],
    pub status: u16,
    pub latency: std::time::Duration,
    pub shadow: bool,
    pub session: Option<&'a str>,
}

impl<'a> Exchange<'a> {
    /// A successful JSON exchange (`application/json` in and out, status 200, 1 ms): the
    /// common case, for tools, tests and benchmarks that write capture files.
    pub fn json(
        variant: &'a str,
        model_version: &'a str,
        inference_id: &'a str,
        input: &'a [u8],
        output: &'a [u8],
    ) -> Self {
        Exchange {
            variant,
            model_version,
            inference_id,
            input_content_type: "application/json",
            input,
            output_content_type: "application/json",
            output,
            status: 200,
            latency: std::time::Duration::from_millis(1),
            shadow: false,
            session: None,
        }
    }

    /// The predicted labels of the response, as [`CaptureRecord::labels`] reads them.
    pub fn labels(&self) -> Vec<Option<String>> {
        record::response_labels(self.output_content_type, self.output, self.status)
    }

    /// The exchange on its way to the writer (copied), timed now.
    pub fn to_pending(&self) -> Pending {
        Pending::new(self)
    }

    /// Writes the exchange as one capture line, exactly as the writer thread would.
    pub fn write_line<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        self.to_pending().write_line(out)
    }

    /// The record exactly as the writer writes it (its line, read back).
    pub fn to_record(&self) -> CaptureRecord {
        let mut line = Vec::with_capacity(1024);
        self.write_line(&mut line)
            .expect("writing to memory cannot fail");
        serde_json::from_slice(&line).expect("a written capture line reads back")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> Exchange<'static> {
        Exchange {
            variant: "A",
            model_version: "v1",
            inference_id: "id-1",
            input_content_type: "application/json",
            input: br#"{"text":"good"}"#,
            output_content_type: "application/json",
            output: br#"{"label":"positive"}"#,
            status: 200,
            latency: std::time::Duration::from_millis(3),
            shadow: false,
            session: None,
        }
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let mut cfg = CaptureConfig::new("/unused");
        cfg.buffer = 2;
        let (c, rx) = Capture::unstarted(cfg);
        for _ in 0..5 {
            c.submit(&exchange());
        }
        let n = c.counts();
        assert_eq!((n.sampled, n.dropped), (5, 3));
        // A buffer this small hands every record over at once (a block of one).
        let waiting: Vec<Block> = rx.try_iter().collect();
        assert_eq!(
            waiting.iter().map(Block::records).collect::<Vec<_>>(),
            [1, 1]
        );
        assert!(c.shared.take_partial().is_empty());
    }

    #[test]
    fn a_block_is_handed_over_when_full_and_threads_fill_their_own() {
        let mut cfg = CaptureConfig::new("/unused");
        cfg.buffer = 1 << 30; // blocks handed over by size only, however many cores
        let (c, rx) = Capture::unstarted(cfg);
        let body = vec![b'x'; 1000];
        let e = Exchange::json("A", "v1", "id", &body, b"{}");
        let per_block = BLOCK_BYTES / 1000 + 1;
        for _ in 0..per_block + 10 {
            c.submit(&e);
        }
        let full: Vec<Block> = rx.try_iter().collect();
        assert_eq!(full.len(), 1);
        assert!(full[0].bytes() >= BLOCK_BYTES && full[0].records() < per_block);
        // Another thread's record goes to its own shard's block; nothing is lost.
        let c2 = c.clone();
        std::thread::spawn(move || c2.submit(&Exchange::json("B", "v1", "id", b"{}", b"{}")))
            .join()
            .unwrap();
        let partial = c.shared.take_partial();
        let mut variants = Vec::new();
        for b in &partial {
            b.for_each(|e, _| variants.push(e.variant.to_string()));
        }
        assert_eq!(variants.len() + full[0].records(), per_block + 11);
        assert_eq!(variants.iter().filter(|v| *v == "B").count(), 1);
        assert_eq!(c.counts().dropped, 0);
        assert!(c.shared.take_partial().is_empty());
    }

    #[test]
    fn sampling_follows_the_percentage() {
        let mut cfg = CaptureConfig::new("/unused");
        cfg.sampling_percent = 20.0;
        let (c, _rx) = Capture::unstarted(cfg);
        let n = (0..20_000).filter(|_| c.sample()).count();
        assert!((3_600..4_400).contains(&n), "{n}");
        let mut cfg = CaptureConfig::new("/unused");
        cfg.sampling_percent = 0.0;
        assert!(!(Capture::unstarted(cfg).0.sample()));
    }

    #[test]
    fn the_record_has_sagemaker_shape() {
        let v = serde_json::to_value(exchange().to_record()).unwrap();
        let input = &v["captureData"]["endpointInput"];
        assert_eq!(input["mode"], "INPUT");
        assert_eq!(input["encoding"], "JSON");
        assert_eq!(input["observedContentType"], "application/json");
        assert_eq!(v["captureData"]["endpointOutput"]["mode"], "OUTPUT");
        assert_eq!(v["eventMetadata"]["inferenceId"], "id-1");
        assert!(v["eventMetadata"]["eventId"].is_string());
        assert!(v["eventMetadata"]["inferenceTime"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
        assert_eq!(v["eventVersion"], "0");
        assert_eq!(v["variant"], "A");
        assert_eq!(v["modelVersion"], "v1");
        assert_eq!(v["failed"], false);
    }
}
