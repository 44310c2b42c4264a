//! Data capture: a sampled copy of requests and responses written asynchronously to
//! hourly-rotated JSON-lines files, `<dir>/<endpoint>/<variant>/YYYY/MM/DD/HH/*.jsonl`, in
//! SageMaker Model Monitor's record shape ([`CaptureRecord`]).
//!
//! Serving never waits for capture: each serving thread copies a sampled exchange into a
//! batch of its own (its texts and bodies, nothing formatted; see `queue`) and hands the
//! batch to the writer once it holds 64 kB. Full batches waiting for the writer hold at
//! most `buffer` records; beyond it a batch is dropped and its records counted
//! (`sentio_capture_dropped_total`). One writer thread makes the event ids and lines, owns
//! the files and flushes them; it writes whole 1 MiB blocks with direct I/O where the file
//! system allows it (see `writer::CaptureFile`), so capture files do not churn the page
//! cache. [`Capture::close`] writes everything captured so far before the server exits.
//!
//! The sampling percentage can be changed while serving (`PUT /v1/admin/capture`, as
//! SageMaker's `UpdateEndpoint` changes a data capture config); 0 pauses capture.
mod queue;
mod record;
mod writer;

pub use record::{
    base64_decode, base64_encode, labels_of_json, Batch, CaptureData, CaptureFormat, CaptureMode,
    CaptureRecord, EventMetadata, Payload, Pending, TextTypes,
};
pub use writer::{
    for_each_line, hour_end, jsonl_files, read_dir as read_capture_dir,
    visit_dir as visit_capture_dir,
};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Records waiting for the writer in full batches, at most; beyond it a batch is
    /// dropped (and its records counted). Each serving thread also fills one batch of up
    /// to 64 kB.
    pub buffer: usize,
    /// Which sides are captured and which bodies are stored as text.
    pub format: CaptureFormat,
    /// Write whole blocks of the capture files with direct I/O (around the page cache)
    /// where the file system allows it.
    pub direct_io: bool,
}

impl CaptureConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CaptureConfig {
            dir: dir.into(),
            sampling_percent: 100.0,
            buffer: 4096,
            format: CaptureFormat::default(),
            direct_io: true,
        }
    }
}

/// Counters of one capture handle (records sampled are counted per serving thread, in
/// `queue`). The serving threads' counter and the writer's sit on cache lines of their own
/// (128 bytes apart: the CPU fetches line pairs), so the writer's per-batch counting does
/// not pull a serving thread's line over to its core and back.
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub struct CaptureStats {
    pub dropped: AtomicU64,
    _apart: [u64; 15],
    pub written: AtomicU64,
    pub write_errors: AtomicU64,
}

/// A snapshot of [`CaptureStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CaptureCounts {
    pub sampled: u64,
    pub dropped: u64,
    pub written: u64,
    pub write_errors: u64,
}

/// The cloneable capture handle used by the routes.
#[derive(Clone)]
pub struct Capture {
    queue: Arc<queue::Queue>,
    config: Arc<CaptureConfig>,
    /// The sampling percentage in force (an `f64`'s bits): the config's at the start, then
    /// whatever [`Capture::set_sampling_percent`] last set.
    sampling: Arc<AtomicU64>,
    /// Disconnected when the writer thread has finished (none without one).
    finished: Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("config", &self.config)
            .field("sampling_percent", &self.sampling_percent())
            .finish_non_exhaustive()
    }
}

/// The records handed over by a [`Capture`] made with [`Capture::unstarted`] (tests,
/// custom sinks).
pub struct Records {
    queue: Arc<queue::Queue>,
}

impl Records {
    /// Every record submitted so far: full batches, then those still being filled.
    pub fn take(&self) -> Vec<Batch> {
        self.queue.take_all()
    }
}

/// Checks a sampling percentage: a number from 0 to 100.
pub fn validate_sampling_percent(p: f64) -> Result<f64, String> {
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!(
            "the capture sampling percentage is a number from 0 to 100, got {p}"
        ))
    }
}

impl Capture {
    /// Starts the writer thread for `endpoint`.
    pub fn start(config: CaptureConfig, endpoint: &str) -> std::io::Result<Capture> {
        let (capture, _) = Capture::unstarted(config);
        let root = capture.config.dir.join(endpoint);
        let queue = capture.queue.clone();
        let options = writer::WriterOptions {
            format: capture.config.format.clone(),
            direct_io: capture.config.direct_io,
        };
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sentio-capture".into())
            .spawn(move || {
                writer::run(root, options, queue);
                drop(done);
            })?;
        capture.queue.set_writer(thread.thread().clone());
        *capture.finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(finished);
        Ok(capture)
    }

    /// A handle without a writer: its records are taken from the returned [`Records`].
    pub fn unstarted(config: CaptureConfig) -> (Capture, Records) {
        let queue = Arc::new(queue::Queue::new(config.buffer));
        (
            Capture {
                queue: queue.clone(),
                sampling: Arc::new(AtomicU64::new(config.sampling_percent.to_bits())),
                config: Arc::new(config),
                finished: Arc::default(),
            },
            Records { queue },
        )
    }

    /// Stops taking records (later ones are counted as dropped) and waits up to `timeout`
    /// for the writer to write and flush every record taken before; `false` if it did not
    /// finish in time. Every clone is closed.
    pub fn close(&self, timeout: Duration) -> bool {
        self.queue.close();
        let finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        match finished.as_ref() {
            Some(rx) => !matches!(
                rx.recv_timeout(timeout),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            ),
            None => true,
        }
    }

    /// Whether this request is to be captured (the sampling decision).
    pub fn sample(&self) -> bool {
        let p = self.sampling_percent();
        p >= 100.0 || (p > 0.0 && rand::random::<f64>() * 100.0 < p)
    }

    /// The sampling percentage in force.
    pub fn sampling_percent(&self) -> f64 {
        f64::from_bits(self.sampling.load(Ordering::Relaxed))
    }

    /// Changes the sampling percentage of every clone of this handle from the next
    /// request on (0 pauses capture); returns the previous one. Refuses anything but a
    /// number from 0 to 100.
    pub fn set_sampling_percent(&self, p: f64) -> Result<f64, String> {
        let p = validate_sampling_percent(p)?;
        Ok(f64::from_bits(
            self.sampling.swap(p.to_bits(), Ordering::Relaxed),
        ))
    }

    /// Captures an exchange, timed now, without waiting for the writer (see `queue`).
    pub fn submit(&self, exchange: &Exchange<'_>) {
        self.queue.submit(exchange);
    }

    pub fn config(&self) -> &CaptureConfig {
        &self.config
    }

    pub fn counts(&self) -> CaptureCounts {
        let s = &self.queue.stats;
        CaptureCounts {
            sampled: self.queue.sampled(),
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
        let (c, records) = Capture::unstarted(cfg);
        // Each of these fills a batch on its own; two may wait for the writer.
        let big = vec![b'x'; 64 * 1024];
        for _ in 0..5 {
            c.submit(&Exchange {
                input: &big,
                ..exchange()
            });
        }
        c.submit(&exchange());
        let n = c.counts();
        assert_eq!((n.sampled, n.dropped), (6, 3));
        let kept: Vec<usize> = records.take().iter().map(Batch::len).collect();
        assert_eq!(
            kept,
            [1, 1, 1],
            "two full batches, then the one being filled"
        );
    }

    #[test]
    fn a_closed_handle_writes_what_it_took_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let c = Capture::start(CaptureConfig::new(dir.path()), "ep").unwrap();
        for _ in 0..3 {
            c.submit(&exchange());
        }
        assert!(c.close(std::time::Duration::from_secs(10)));
        c.clone().submit(&exchange());
        let n = c.counts();
        assert_eq!((n.sampled, n.written, n.dropped), (4, 3, 1));
        assert_eq!(read_capture_dir(&dir.path().join("ep")).unwrap().len(), 3);
    }

    #[test]
    fn the_serving_and_writer_counters_are_a_line_pair_apart() {
        use std::mem::{align_of, offset_of};
        assert_eq!(align_of::<CaptureStats>(), 128);
        let serving = offset_of!(CaptureStats, dropped);
        assert!(offset_of!(CaptureStats, written) >= 128 && serving < 128);
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
    fn the_sampling_percentage_changes_live_and_refuses_bad_values() {
        let (c, _rx) = Capture::unstarted(CaptureConfig::new("/unused"));
        let clone = c.clone();
        assert_eq!(c.set_sampling_percent(0.0), Ok(100.0));
        assert!((0..1_000).all(|_| !clone.sample()), "0 pauses every clone");
        for bad in [-1.0, 100.5, f64::NAN, f64::INFINITY] {
            let e = c.set_sampling_percent(bad).unwrap_err();
            assert!(e.contains("0 to 100"), "{e}");
        }
        assert_eq!(
            clone.sampling_percent(),
            0.0,
            "a refused value changes nothing"
        );
        assert_eq!(clone.set_sampling_percent(100.0), Ok(0.0));
        assert!((0..1_000).all(|_| c.sample()));
        assert_eq!(
            c.config().sampling_percent,
            100.0,
            "the start-up config is kept"
        );
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
