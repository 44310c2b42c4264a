//! The capture writer thread (one file per variant and hour) and reading capture trees.
use super::{CaptureRecord, CaptureStats, CAPTURE_WRITE_ERRORS};
use chrono::{Datelike, Timelike};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Open {
    hour: (i32, u32, u32, u32),
    file: BufWriter<File>,
}

/// While records keep arriving, the writer naps this long between drains instead of
/// blocking on the channel: a blocked receiver is woken (a futex call on the serving
/// thread, a context switch here) by every single record.
const NAP: Duration = Duration::from_millis(2);
/// During a busy period files are flushed at least this often; when it ends, at once.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Writes records until every sender is gone. Records that arrive while the writer is
/// idle wake it; then it drains the buffer every [`NAP`] until a nap brings nothing, and
/// flushes every [`FLUSH_EVERY`] and when the burst ends, so a record reaches its file
/// within about 100 ms under load and within a few ms otherwise.
pub(super) fn run(root: PathBuf, rx: Receiver<CaptureRecord>, stats: Arc<CaptureStats>) {
    let mut open: HashMap<String, Open> = HashMap::new();
    let put = |record: CaptureRecord, open: &mut HashMap<String, Open>| match write(
        &root, open, &record,
    ) {
        Ok(()) => {
            stats.written.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            stats.write_errors.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(CAPTURE_WRITE_ERRORS, "variant" => record.variant.clone())
                .increment(1);
            tracing::warn!(error = %e, variant = %record.variant, "cannot write a capture record");
        }
    };
    let flush = |open: &mut HashMap<String, Open>| {
        for o in open.values_mut() {
            if let Err(e) = o.file.flush() {
                tracing::warn!(error = %e, "cannot flush a capture file");
            }
        }
    };
    'idle: loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(first) => put(first, &mut open),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let mut flushed = Instant::now();
        loop {
            std::thread::sleep(NAP);
            let mut got = 0usize;
            loop {
                match rx.try_recv() {
                    Ok(record) => {
                        put(record, &mut open);
                        got += 1;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => break 'idle,
                }
            }
            if got == 0 || flushed.elapsed() >= FLUSH_EVERY {
                flush(&mut open);
                flushed = Instant::now();
            }
            if got == 0 {
                continue 'idle;
            }
        }
    }
    flush(&mut open);
}

fn write(
    root: &Path,
    open: &mut HashMap<String, Open>,
    record: &CaptureRecord,
) -> std::io::Result<()> {
    let now = chrono::Utc::now();
    let hour = (now.year(), now.month(), now.day(), now.hour());
    let stale = open.get(&record.variant).is_none_or(|o| o.hour != hour);
    if stale {
        if let Some(mut old) = open.remove(&record.variant) {
            old.file.flush()?;
        }
        let dir = root.join(&record.variant).join(format!(
            "{:04}/{:02}/{:02}/{:02}",
            hour.0, hour.1, hour.2, hour.3
        ));
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{}-{}.jsonl",
            now.format("%Y%m%dT%H%M%S"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))?;
        open.insert(
            record.variant.clone(),
            Open {
                hour,
                file: BufWriter::with_capacity(64 * 1024, file),
            },
        );
    }
    let o = open.get_mut(&record.variant).expect("opened above");
    serde_json::to_writer(&mut o.file, record)?;
    o.file.write_all(b"\n")
}

/// Every `.jsonl` file under `dir`, sorted by path (so by variant, then time).
pub fn jsonl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Calls `f` on every record under `dir`; returns how many lines could not be parsed.
pub fn visit_dir(dir: &Path, mut f: impl FnMut(CaptureRecord)) -> std::io::Result<u64> {
    let mut bad = 0;
    for path in jsonl_files(dir)? {
        let reader = BufReader::with_capacity(256 * 1024, File::open(&path)?);
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<CaptureRecord>(&line) {
                Ok(r) => f(r),
                Err(_) => bad += 1,
            }
        }
    }
    Ok(bad)
}

/// Every record under `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<CaptureRecord>> {
    let mut v = Vec::new();
    visit_dir(dir, |r| v.push(r))?;
    Ok(v)
}
