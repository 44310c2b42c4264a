//! The capture writer thread (one file per variant and hour) and reading capture trees.
use super::{CaptureRecord, CaptureStats, CAPTURE_WRITE_ERRORS};
use chrono::{Datelike, Timelike};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

struct Open {
    hour: (i32, u32, u32, u32),
    file: BufWriter<File>,
}

/// Writes records until every sender is gone, flushing when the buffer runs empty.
pub(super) fn run(root: PathBuf, rx: Receiver<CaptureRecord>, stats: Arc<CaptureStats>) {
    let mut open: HashMap<String, Open> = HashMap::new();
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for record in std::iter::once(first).chain(rx.try_iter()) {
            match write(&root, &mut open, &record) {
                Ok(()) => {
                    stats.written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(CAPTURE_WRITE_ERRORS, "variant" => record.variant.clone())
                        .increment(1);
                    tracing::warn!(error = %e, variant = %record.variant, "cannot write a capture record");
                }
            }
        }
        for o in open.values_mut() {
            if let Err(e) = o.file.flush() {
                tracing::warn!(error = %e, "cannot flush a capture file");
            }
        }
    }
    for o in open.values_mut() {
        let _ = o.file.flush();
    }
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
