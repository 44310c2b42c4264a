//! Data capture: a sampled copy of requests and responses, written by one background
//! thread to hourly files `<dir>/<endpoint>/<variant>/YYYY/MM/DD/HH/*.jsonl` in SageMaker
//! Model Monitor's record shape (`monitoring::capture::CaptureRecord`).
//!
//! Serving never waits for capture: a sampled exchange is one owned message (its bodies
//! are shared `Bytes`, not copied) handed to a bounded channel with `try_send`; when the
//! channel is full the record is dropped and counted (`sentio_capture_dropped_total`). The
//! writer thread makes each record with serde and writes it through a buffered file, opens
//! a new file each hour, flushes every [`FLUSH_EVERY`], and on [`Capture::close`] writes
//! everything it was handed before the server exits.
//!
//! The sampling percentage can be changed while serving (`PUT /v1/admin/capture`, as
//! SageMaker's `UpdateEndpoint` changes a data capture config); 0 pauses capture.
mod writer;

pub use monitoring::capture::{CaptureFormat, CaptureMode, TextTypes};

use crate::telemetry::{CAPTURED, CAPTURE_DROPPED};
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often the writer flushes its files (records reach the disk at most this late).
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Where and how much to capture.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureConfig {
    /// Root of the capture tree (the endpoint's folder goes under it).
    pub dir: PathBuf,
    /// Share of requests captured, 0–100.
    pub sampling_percent: f64,
    /// Records waiting for the writer, at most; beyond it a record is dropped (counted).
    pub buffer: usize,
    /// Which sides are captured and which bodies are stored as text.
    pub format: CaptureFormat,
}

impl CaptureConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CaptureConfig {
            dir: dir.into(),
            sampling_percent: 100.0,
            buffer: 4096,
            format: CaptureFormat::default(),
        }
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

/// One answered request on its way to the writer.
#[derive(Debug, Clone)]
pub struct Captured {
    pub variant: String,
    pub model_version: String,
    pub inference_id: Option<String>,
    pub input_content_type: String,
    pub input: Bytes,
    pub output_content_type: String,
    pub output: Bytes,
    pub status: u16,
    pub latency: Duration,
    pub shadow: bool,
    pub session: Option<String>,
    pub time: chrono::DateTime<chrono::Utc>,
}

impl Captured {
    /// The exchange as the record format takes it.
    pub fn exchange(&self) -> monitoring::capture::Exchange<'_> {
        monitoring::capture::Exchange {
            variant: &self.variant,
            model_version: &self.model_version,
            inference_id: self.inference_id.as_deref(),
            input_content_type: &self.input_content_type,
            input: &self.input,
            output_content_type: &self.output_content_type,
            output: &self.output,
            status: self.status,
            latency: self.latency,
            shadow: self.shadow,
            session: self.session.as_deref(),
            time: self.time,
        }
    }
}

/// What goes through the channel.
pub enum Message {
    Record(Box<Captured>),
    /// Write and flush everything before this, then answer and stop.
    Close(std::sync::mpsc::Sender<()>),
}

/// Counters of a capture handle.
#[derive(Debug, Default)]
struct Stats {
    sampled: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    write_errors: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CaptureCounts {
    pub sampled: u64,
    pub dropped: u64,
    pub written: u64,
    pub write_errors: u64,
}

struct Inner {
    config: CaptureConfig,
    tx: SyncSender<Message>,
    /// `true` once closed; submitting holds it for reading, so no record is sent after the
    /// closing message.
    closed: RwLock<bool>,
    /// The sampling percentage in force (an `f64`'s bits).
    sampling: AtomicU64,
    stats: Arc<Stats>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The cloneable capture handle used by the routes.
#[derive(Clone)]
pub struct Capture {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("config", &self.inner.config)
            .field("sampling_percent", &self.sampling_percent())
            .finish_non_exhaustive()
    }
}

impl Capture {
    /// Starts the writer thread for `endpoint` (files under `config.dir/endpoint`).
    pub fn start(config: CaptureConfig, endpoint: &str) -> std::io::Result<Capture> {
        let root = config.dir.join(endpoint);
        let format = config.format.clone();
        let batch_max = config.buffer.max(1);
        let (capture, rx) = Capture::unstarted(config);
        let stats = capture.inner.stats.clone();
        let thread = std::thread::Builder::new()
            .name("sentio-capture".into())
            .spawn(move || writer::run(rx, batch_max, root, format, stats))?;
        *lock(&capture.inner.writer) = Some(thread);
        Ok(capture)
    }

    /// A handle without a writer: its messages are read from the returned receiver
    /// (tests, custom sinks).
    pub fn unstarted(config: CaptureConfig) -> (Capture, Receiver<Message>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(config.buffer.max(1));
        let inner = Inner {
            sampling: AtomicU64::new(config.sampling_percent.to_bits()),
            config,
            tx,
            closed: RwLock::new(false),
            stats: Arc::default(),
            writer: Mutex::new(None),
        };
        (
            Capture {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Whether this request is to be captured (the sampling decision).
    pub fn sample(&self) -> bool {
        let p = self.sampling_percent();
        p >= 100.0 || (p > 0.0 && rand::random::<f64>() * 100.0 < p)
    }

    /// The sampling percentage in force.
    pub fn sampling_percent(&self) -> f64 {
        f64::from_bits(self.inner.sampling.load(Ordering::Relaxed))
    }

    /// Changes the sampling percentage of every clone from the next request on (0 pauses
    /// capture); returns the previous one. Refuses anything but a number from 0 to 100.
    pub fn set_sampling_percent(&self, p: f64) -> Result<f64, String> {
        let p = validate_sampling_percent(p)?;
        Ok(f64::from_bits(
            self.inner.sampling.swap(p.to_bits(), Ordering::Relaxed),
        ))
    }

    /// Hands a record to the writer without waiting; a full channel or a closed handle
    /// drops it (counted).
    pub fn submit(&self, record: Captured) {
        let s = &self.inner.stats;
        s.sampled.fetch_add(1, Ordering::Relaxed);
        let variant = record.variant.clone();
        let closed = self.inner.closed.read().unwrap_or_else(|p| p.into_inner());
        let sent = !*closed
            && match self.inner.tx.try_send(Message::Record(Box::new(record))) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            };
        drop(closed);
        if sent {
            metrics::counter!(CAPTURED, "variant" => variant).increment(1);
        } else {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(CAPTURE_DROPPED, "variant" => variant).increment(1);
        }
    }

    /// Stops taking records (later ones are dropped and counted) and waits up to
    /// `timeout` for the writer to write and flush every record taken before; `false` if
    /// it did not finish in time. Every clone is closed.
    pub fn close(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        *self.inner.closed.write().unwrap_or_else(|p| p.into_inner()) = true;
        let Some(thread) = lock(&self.inner.writer).take() else {
            return true;
        };
        let (ack, done) = std::sync::mpsc::channel();
        let mut message = Message::Close(ack);
        loop {
            match self.inner.tx.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        let finished = done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok();
        if finished {
            let _ = thread.join();
        }
        finished
    }

    pub fn config(&self) -> &CaptureConfig {
        &self.inner.config
    }

    pub fn counts(&self) -> CaptureCounts {
        let s = &self.inner.stats;
        CaptureCounts {
            sampled: s.sampled.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Relaxed),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn captured(variant: &str, text: &str) -> Captured {
        Captured {
            variant: variant.into(),
            model_version: "v1".into(),
            inference_id: Some("id-1".into()),
            input_content_type: "application/json".into(),
            input: Bytes::from(format!("{{\"text\":{text:?}}}")),
            output_content_type: "application/json".into(),
            output: Bytes::from_static(br#"{"label":"positive"}"#),
            status: 200,
            latency: Duration::from_millis(3),
            shadow: false,
            session: None,
            time: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let mut cfg = CaptureConfig::new("/unused");
        cfg.buffer = 2;
        let (c, rx) = Capture::unstarted(cfg);
        for i in 0..5 {
            c.submit(captured("A", &format!("t{i}")));
        }
        let n = c.counts();
        assert_eq!((n.sampled, n.dropped), (5, 3));
        let kept: Vec<String> = rx
            .try_iter()
            .map(|m| match m {
                Message::Record(r) => String::from_utf8(r.input.to_vec()).unwrap(),
                Message::Close(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            kept,
            [r#"{"text":"t0"}"#, r#"{"text":"t1"}"#],
            "the first two, in order"
        );
    }

    #[test]
    fn a_closed_handle_writes_what_it_took_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let c = Capture::start(CaptureConfig::new(dir.path()), "ep").unwrap();
        for i in 0..3 {
            c.submit(captured("A", &format!("t{i}")));
        }
        assert!(c.close(Duration::from_secs(10)));
        c.clone().submit(captured("A", "late"));
        let n = c.counts();
        assert_eq!((n.sampled, n.written, n.dropped), (4, 3, 1));
        let records = monitoring::capture::read_dir(&dir.path().join("ep")).unwrap();
        let texts: Vec<String> = records.iter().flat_map(|r| r.texts()).collect();
        assert_eq!(texts, ["t0", "t1", "t2"]);
        assert!(c.close(Duration::from_secs(1)), "closing twice is fine");
    }

    #[test]
    fn sampling_follows_the_percentage() {
        let mut cfg = CaptureConfig::new("/unused");
        cfg.sampling_percent = 20.0;
        let (c, _rx) = Capture::unstarted(cfg);
        let n = (0..20_000).filter(|_| c.sample()).count();
        // 20 % of 20,000 = 4,000, sd ≈ 57: ±7 sd.
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
}
