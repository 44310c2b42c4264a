//! Drift: captured traffic over a window against a model's baseline. One run reads the
//! capture tree (only the hour folders the window overlaps), profiles the texts with the
//! model's tokenizer ([`crate::profile`]), compares each feature ([`check`]) and writes
//! `constraint_violations.json`, `monitoring_report.json` and `report.html` ([`report`]).
//! The endpoint's in-process schedule and `sentio monitor run` both call [`run_once`].
mod check;
mod report;
pub mod stats;

pub use check::{
    check, CheckResult, CheckType, DriftTest, FeatureDrift, RunStatus, Severity, Thresholds,
    Unchecked, Violation,
};
pub use report::{html, write_outputs, ConstraintViolations};

use crate::baseline::Baseline;
use crate::capture::read::{hour_end, jsonl_files, visit_file};
use crate::profile::{Current, Profiler};
use crate::MonitoringError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One monitoring job.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Capture tree of one endpoint (or one variant's folder).
    pub capture_dir: PathBuf,
    /// Folder with statistics.json / constraints.json.
    pub baseline_dir: PathBuf,
    /// Model artifact whose tokenizer profiles the texts (default: the baseline's parent).
    pub model_dir: Option<PathBuf>,
    /// Only records newer than this (None: everything).
    pub window: Option<Duration>,
    pub thresholds: Thresholds,
    /// Where the outputs go.
    pub out_dir: PathBuf,
    /// Threads reading and profiling.
    pub threads: usize,
}

/// Runs one monitoring job and writes its outputs.
pub fn run_once(cfg: &MonitorConfig) -> Result<CheckResult, MonitoringError> {
    let baseline = Baseline::load(&cfg.baseline_dir)?;
    let model_dir = cfg
        .model_dir
        .clone()
        .or_else(|| cfg.baseline_dir.parent().map(Path::to_path_buf));
    let profiler = match model_dir {
        Some(d) if d.join("tokenizer.json").is_file() => Some(Profiler::load(&d)?),
        _ => None,
    };
    let since = cfg
        .window
        .map(|w| chrono::Utc::now() - chrono::Duration::from_std(w).unwrap_or_default());
    let current = collect(&cfg.capture_dir, since, profiler.as_ref(), cfg.threads)?;
    let result = check(&baseline, &current, &cfg.thresholds);
    write_outputs(&cfg.out_dir, &result)?;
    Ok(result)
}

/// Reads and profiles every record under `dir` newer than `since`, on `threads` threads.
pub fn collect(
    dir: &Path,
    since: Option<chrono::DateTime<chrono::Utc>>,
    profiler: Option<&Profiler>,
    threads: usize,
) -> Result<Current, MonitoringError> {
    let mut files = if dir.exists() {
        jsonl_files(dir).map_err(|e| MonitoringError::io(dir, e))?
    } else {
        Vec::new()
    };
    // Files of hours that ended before the window are not opened at all: a capture tree
    // holds months of traffic, a scheduled run looks at the last minutes of it.
    if let Some(start) = since {
        files.retain(|f| hour_end(f).is_none_or(|end| end > start));
    }
    let threads = threads.clamp(1, 64);
    let parts: Vec<Result<Current, MonitoringError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&PathBuf> = files.iter().skip(t).step_by(threads).collect();
                s.spawn(move || {
                    let mut cur = Current::default();
                    let mut batch = Vec::with_capacity(4096);
                    for path in mine {
                        cur.unreadable += visit_file(path, |r| {
                            if since.is_some_and(|s| r.event_metadata.inference_time < s) {
                                return;
                            }
                            batch.push(r);
                            if batch.len() == batch.capacity() {
                                cur.add(&batch, profiler);
                                batch.clear();
                            }
                        })
                        .map_err(|e| MonitoringError::io(path, e))?;
                    }
                    cur.add(&batch, profiler);
                    Ok(cur)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(MonitoringError::Model(
                        "a capture reader thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut total = Current::default();
    for p in parts {
        total.merge(p?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, CaptureRecord, Exchange};
    use std::io::Write;

    #[test]
    fn a_window_skips_the_files_of_hours_that_ended_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let write = |hour: &str, lines: &[&[u8]]| {
            let d = dir.path().join("A").join(hour);
            std::fs::create_dir_all(&d).unwrap();
            let mut f = std::fs::File::create(d.join("part.jsonl")).unwrap();
            for l in lines {
                f.write_all(l).unwrap();
                f.write_all(b"\n").unwrap();
            }
        };
        let line = |id: &str, time: &str| {
            let e = Exchange {
                time: time.parse().unwrap(),
                ..Exchange::json("A", "v1", id, br#"{"text":"x"}"#, b"{}")
            };
            serde_json::to_vec(&CaptureRecord::new(&e, &CaptureFormat::default())).unwrap()
        };
        // Hour 09 ended before the window: never opened (its garbage line is not seen).
        write(
            "2026/11/26/09",
            &[b"garbage", &line("old", "2026-11-26T09:30:00Z")],
        );
        // Hour 10 overlaps the window: read, and its records filtered by time.
        write(
            "2026/11/26/10",
            &[
                &line("early", "2026-11-26T10:10:00Z"),
                &line("in", "2026-11-26T10:50:00Z"),
            ],
        );
        write("2026/11/26/11", &[&line("late", "2026-11-26T11:05:00Z")]);
        let since = "2026-11-26T10:30:00.000Z".parse().ok();
        let cur = collect(dir.path(), since, None, 1).unwrap();
        assert_eq!((cur.records, cur.unreadable), (2, 0));
        // Without a window everything is read.
        let all = collect(dir.path(), None, None, 2).unwrap();
        assert_eq!((all.records, all.unreadable), (4, 1));
    }
}
