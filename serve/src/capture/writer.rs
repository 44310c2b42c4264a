//! The capture writer thread: records from the channel → one open file per variant, a new
//! file each hour (`<variant>/YYYY/MM/DD/HH/<mm>-<ss>-<mmm>-<id>.jsonl`, SageMaker's
//! naming), flushed every [`FLUSH_EVERY`] and before it stops.
use super::{Captured, Message, Stats, FLUSH_EVERY};
use crate::telemetry::CAPTURE_WRITE_ERRORS;
use chrono::{DateTime, Datelike, Timelike, Utc};
use monitoring::capture::{CaptureFormat, CaptureRecord};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUFFER: usize = 256 * 1024;
/// The writer's pause after each batch it takes: records queue in the channel meanwhile,
/// so a serving thread's `try_send` rarely has a parked writer to wake (a wake per record
/// cost more than writing it). The channel holds far more than arrives in this time.
const BATCH_PAUSE: Duration = Duration::from_millis(2);

/// A variant's file of one hour, and the records written into its buffer since it was last
/// flushed (lost with it if the flush fails).
struct Open {
    hour: i64,
    file: BufWriter<File>,
    unflushed: u64,
}

struct Writer {
    root: PathBuf,
    format: CaptureFormat,
    stats: Arc<Stats>,
    open: HashMap<String, Open>,
}

/// Writes what `rx` brings until it is closed; `batch_max` (the channel's capacity) bounds
/// the records taken between two flush checks.
pub(super) fn run(
    rx: Receiver<Message>,
    batch_max: usize,
    root: PathBuf,
    format: CaptureFormat,
    stats: Arc<Stats>,
) {
    let mut w = Writer {
        root,
        format,
        stats,
        open: HashMap::new(),
    };
    let mut flushed = Instant::now();
    loop {
        let first = match rx.recv_timeout(FLUSH_EVERY) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let took = first.is_some();
        // At most a channel's worth before the flush check, however fast records come.
        for m in first.into_iter().chain(rx.try_iter().take(batch_max)) {
            match m {
                Message::Record(r) => w.write(&r),
                Message::Close(ack) => {
                    w.flush();
                    let _ = ack.send(());
                    return;
                }
            }
        }
        if took {
            std::thread::sleep(BATCH_PAUSE);
        }
        if flushed.elapsed() >= FLUSH_EVERY {
            w.flush();
            flushed = Instant::now();
        }
    }
    w.flush();
}

impl Writer {
    fn write(&mut self, r: &Captured) {
        let record = CaptureRecord::new(&r.exchange(), &self.format);
        match self.append(&r.variant, r.time, &record) {
            Ok(()) => {
                self.stats.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.failed(&r.variant, 1, &e),
        }
    }

    /// Appends to the variant's file of the record's hour; the first record of a later
    /// hour starts that hour's file. A record of a past hour that comes late goes to the
    /// file open now (its `inferenceTime` still says when it happened).
    fn append(
        &mut self,
        variant: &str,
        time: DateTime<Utc>,
        record: &CaptureRecord,
    ) -> std::io::Result<()> {
        let hour = time.timestamp().div_euclid(3600);
        let stale = self.open.get(variant).is_none_or(|o| o.hour < hour);
        if stale {
            if let Some(mut old) = self.open.remove(variant) {
                if let Err(e) = old.file.flush() {
                    self.failed(variant, old.unflushed, &e);
                }
            }
            let file = open_file(&self.root.join(variant), time)?;
            self.open.insert(
                variant.to_string(),
                Open {
                    hour,
                    file: BufWriter::with_capacity(BUFFER, file),
                    unflushed: 0,
                },
            );
        }
        let o = self.open.get_mut(variant).expect("opened above");
        serde_json::to_writer(&mut o.file, record)?;
        o.file.write_all(b"\n")?;
        o.unflushed += 1;
        Ok(())
    }

    fn flush(&mut self) {
        let mut lost = Vec::new();
        for (variant, o) in &mut self.open {
            match o.file.flush() {
                Ok(()) => o.unflushed = 0,
                Err(e) => lost.push((variant.clone(), o.unflushed, e)),
            }
        }
        for (variant, n, e) in lost {
            self.open.remove(&variant);
            self.failed(&variant, n, &e);
        }
    }

    /// Counts `n` records of `variant` that did not reach their file.
    fn failed(&self, variant: &str, n: u64, e: &std::io::Error) {
        let before = self.stats.write_errors.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(CAPTURE_WRITE_ERRORS, "variant" => variant.to_string()).increment(n);
        // The first failure and every 1000th after it: a broken disk must not flood the log.
        if before.is_multiple_of(1000) {
            tracing::warn!(error = %e, variant, failed = before + n, "cannot write capture records");
        }
    }
}

/// A new file in the hour folder of `time` under a variant's folder.
fn open_file(variant_dir: &Path, time: DateTime<Utc>) -> std::io::Result<File> {
    let dir = variant_dir.join(format!(
        "{:04}/{:02}/{:02}/{:02}",
        time.year(),
        time.month(),
        time.day(),
        time.hour()
    ));
    std::fs::create_dir_all(&dir)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = format!(
        "{:02}-{:02}-{:03}-{}.jsonl",
        time.minute(),
        time.second(),
        time.timestamp_subsec_millis().min(999),
        &id[..8]
    );
    File::options()
        .create_new(true)
        .append(true)
        .open(dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::tests::captured;

    fn writer(root: &Path) -> Writer {
        Writer {
            root: root.to_path_buf(),
            format: CaptureFormat::default(),
            stats: Arc::default(),
            open: HashMap::new(),
        }
    }

    #[test]
    fn each_hour_and_variant_gets_its_file_and_late_records_join_the_open_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        let at = |t: &str, variant: &str, text: &str| Captured {
            time: t.parse().unwrap(),
            ..captured(variant, text)
        };
        w.write(&at("2026-11-26T10:59:59.900Z", "A", "a1"));
        w.write(&at("2026-11-26T11:00:00.100Z", "A", "a2"));
        w.write(&at("2026-11-26T10:59:59.950Z", "A", "a3 late"));
        w.write(&at("2026-11-26T10:30:00Z", "B", "b1"));
        w.flush();
        assert_eq!(w.stats.written.load(Ordering::Relaxed), 4);
        let files = monitoring::capture::jsonl_files(dir.path()).unwrap();
        let rel: Vec<String> = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir.path())
                    .unwrap()
                    .parent()
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            rel,
            ["A/2026/11/26/10", "A/2026/11/26/11", "B/2026/11/26/10"]
        );
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("59-59-900-") && name.ends_with(".jsonl"),
            "{name}"
        );
        let texts = |f: &Path| {
            let mut out = Vec::new();
            monitoring::capture::read::visit_file(f, |r| out.extend(r.texts())).unwrap();
            out
        };
        assert_eq!(texts(&files[0]), ["a1"]);
        assert_eq!(texts(&files[1]), ["a2", "a3 late"]);
    }

    #[test]
    fn records_that_cannot_be_written_are_counted() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut w = writer(file.path());
        for i in 0..3 {
            w.write(&captured("A", &format!("t{i}")));
        }
        assert_eq!(w.stats.write_errors.load(Ordering::Relaxed), 3);
        assert_eq!(w.stats.written.load(Ordering::Relaxed), 0);
    }
}
