//! The drift monitor: captured traffic over a window vs the model's baseline
//! (`statistics.json` / `constraints.json`). One run reads the capture tree, profiles the
//! texts with the model's tokenizer, compares each feature ([`check`]), writes
//! `constraint_violations.json`, `monitoring_report.json` and `report.html`, sets the
//! drift gauges, and — once per violation window — fires the configured actions
//! (a webhook, the retraining pipeline). [`Monitor`] is the in-process schedule's state;
//! `sentio monitor run` is the one-shot form.
mod actions;
mod baseline;
mod check;
mod cli;
mod profile;
mod report;
pub mod stats;

pub use actions::{post_json, send_json_bearer, Action, ActionGate};
pub use baseline::{Baseline, BaselineFeature, Distribution};
pub use check::{check, CheckResult, FeatureDrift, Thresholds, Unchecked, Violation};
pub use cli::{run_monitor_cli, MonitorArgs, MonitorCommand, MonitorOutcome};
pub use profile::{vocab_of, Current, Profiler};
pub use report::{html, write_outputs};

use crate::capture::{for_each_line, hour_end, jsonl_files, CaptureRecord};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DRIFT_PSI: &str = "sentio_drift_psi";
pub const DRIFT_JS: &str = "sentio_drift_js_distance";
pub const DRIFT_P_VALUE: &str = "sentio_drift_p_value";
pub const DRIFT_DETECTED: &str = "sentio_drift_detected";
pub const DRIFT_VIOLATIONS: &str = "sentio_drift_violations";
pub const DRIFT_RECORDS: &str = "sentio_drift_window_records";

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("baseline: {0}")]
    Baseline(String),
    #[error("model: {0}")]
    Model(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("action failed: {0}")]
    Action(String),
}

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

/// The in-process schedule (`sentio serve --monitor-interval …`).
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub interval: Duration,
    pub job: MonitorConfig,
    pub actions: Vec<Action>,
}

/// Runs one monitoring job and writes its outputs.
pub fn run_once(cfg: &MonitorConfig) -> Result<CheckResult, MonitorError> {
    let baseline = Baseline::load(&cfg.baseline_dir)?;
    let model_dir = cfg
        .model_dir
        .clone()
        .or_else(|| cfg.baseline_dir.parent().map(Path::to_path_buf));
    let profiler = match model_dir {
        Some(d) if d.join("tokenizer.json").is_file() => Some(Profiler::load(&d)?),
        _ => None,
    };
    let since = cfg.window.map(|w| {
        (chrono::Utc::now() - chrono::Duration::from_std(w).unwrap_or_default())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    });
    let current = collect(
        &cfg.capture_dir,
        since.as_deref(),
        profiler.as_ref(),
        cfg.threads,
    )?;
    let result = check(&baseline, &current, &cfg.thresholds);
    write_outputs(&cfg.out_dir, &result)?;
    gauges(&result);
    Ok(result)
}

/// Reads and profiles every record under `dir` newer than `since`, on `threads` threads.
pub fn collect(
    dir: &Path,
    since: Option<&str>,
    profiler: Option<&Profiler>,
    threads: usize,
) -> Result<Current, MonitorError> {
    let mut files = if dir.exists() {
        jsonl_files(dir)?
    } else {
        Vec::new()
    };
    // Files of hours that ended before the window are not opened at all: a capture tree
    // holds months of traffic, a scheduled run looks at the last minutes of it.
    if let Some(start) = since.and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok()) {
        files.retain(|f| hour_end(f).is_none_or(|end| end > start));
    }
    let threads = threads.clamp(1, 64);
    let parts: Vec<Result<Current, MonitorError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&PathBuf> = files.iter().skip(t).step_by(threads).collect();
                s.spawn(move || {
                    let mut cur = Current::default();
                    let mut batch: Vec<CaptureRecord> = Vec::with_capacity(4096);
                    for path in mine {
                        for_each_line(path, |line, finished| {
                            if line.trim_ascii().is_empty() {
                                return;
                            }
                            let Ok(r) = serde_json::from_slice::<CaptureRecord>(line) else {
                                // An unfinished last line is still being written.
                                cur.unreadable += u64::from(finished);
                                return;
                            };
                            if since.is_some_and(|s| r.event_metadata.inference_time.as_str() < s) {
                                return;
                            }
                            batch.push(r);
                            if batch.len() == batch.capacity() {
                                cur.add(&batch, profiler);
                                batch.clear();
                            }
                        })?;
                    }
                    cur.add(&batch, profiler);
                    Ok(cur)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(MonitorError::Action("a reader panicked".into())))
            })
            .collect()
    });
    let mut total = Current::default();
    for p in parts {
        total.merge(p?);
    }
    Ok(total)
}

fn gauges(r: &CheckResult) {
    metrics::gauge!(DRIFT_VIOLATIONS).set(r.violations.len() as f64);
    metrics::gauge!(DRIFT_RECORDS).set(r.records as f64);
    for f in &r.features {
        metrics::gauge!(DRIFT_PSI, "feature" => f.name.clone()).set(f.psi);
        metrics::gauge!(DRIFT_JS, "feature" => f.name.clone()).set(f.js_distance);
        metrics::gauge!(DRIFT_P_VALUE, "feature" => f.name.clone()).set(f.p_value);
        metrics::gauge!(DRIFT_DETECTED, "feature" => f.name.clone()).set(if f.drift {
            1.0
        } else {
            0.0
        });
    }
}

/// A schedule's state: the job, its actions and the once-per-window gate.
pub struct Monitor {
    pub config: ScheduleConfig,
    gate: ActionGate,
}

impl Monitor {
    pub fn new(config: ScheduleConfig) -> Self {
        Monitor {
            config,
            gate: ActionGate::default(),
        }
    }

    /// One scheduled run: check, then fire the actions if a violation window opened.
    pub async fn tick(&mut self) -> Result<CheckResult, MonitorError> {
        let job = self.config.job.clone();
        let result = tokio::task::spawn_blocking(move || run_once(&job))
            .await
            .map_err(|e| MonitorError::Action(format!("monitor run: {e}")))??;
        if self.gate.should_fire(&result) {
            for a in &self.config.actions {
                if let Err(e) = a.fire(&result).await {
                    tracing::warn!(error = %e, "drift action failed");
                }
            }
        }
        Ok(result)
    }
}

/// Starts the in-process schedule for an endpoint, if one is configured.
pub fn spawn_schedule(
    observe: &crate::observe::ObserveConfig,
    endpoint: &str,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut cfg = observe.monitor.clone()?;
    if cfg.job.capture_dir.as_os_str().is_empty() {
        cfg.job.capture_dir = observe.capture.as_ref()?.dir.join(endpoint);
    }
    Some(tokio::spawn(async move {
        let mut monitor = Monitor::new(cfg);
        let mut every = tokio::time::interval(monitor.config.interval);
        every.tick().await;
        loop {
            every.tick().await;
            match monitor.tick().await {
                Ok(r) => tracing::info!(
                    records = r.records,
                    violations = r.violations.len(),
                    status = r.status,
                    "drift monitor ran"
                ),
                Err(e) => tracing::warn!(error = %e, "drift monitor failed"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Exchange;
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
            let mut p = Exchange::json("A", "v1", id, br#"{"text":"x"}"#, b"{}").to_pending();
            p.time = time.parse().unwrap();
            let mut out = Vec::new();
            p.write_line(&mut out).unwrap();
            out.pop();
            out
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
        let since = "2026-11-26T10:30:00.000Z";
        let cur = collect(dir.path(), Some(since), None, 1).unwrap();
        assert_eq!((cur.records, cur.unreadable), (2, 0));
        // Without a window everything is read.
        let all = collect(dir.path(), None, None, 1).unwrap();
        assert_eq!((all.records, all.unreadable), (4, 1));
        assert_eq!(
            hour_end(&dir.path().join("A/2026/11/26/09/part.jsonl")),
            Some("2026-11-26T10:00:00Z".parse().unwrap())
        );
        assert_eq!(hour_end(Path::new("elsewhere/part.jsonl")), None);
        assert_eq!(hour_end(Path::new("runs/1/2/3/4/part.jsonl")), None);
    }

    #[test]
    fn a_file_being_written_and_stray_lines_do_not_break_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("A/2026/11/26/03");
        std::fs::create_dir_all(&d).unwrap();
        let mut f = std::fs::File::create(d.join("part.jsonl")).unwrap();
        for id in ["a", "b", "c"] {
            Exchange::json(
                "A",
                "v1",
                id,
                r#"{"text":"très bien"}"#.as_bytes(),
                br#"{"label":"positive"}"#,
            )
            .write_line(&mut f)
            .unwrap();
        }
        f.write_all(b"not a record\n\n").unwrap();
        // The writer is mid-way through a line, even mid-way through the "é" of a text.
        let mut line = Vec::new();
        Exchange::json("A", "v1", "d", "é".as_bytes(), b"{}")
            .write_line(&mut line)
            .unwrap();
        let cut = line.iter().position(|&b| b >= 0x80).unwrap() + 1;
        f.write_all(&line[..cut]).unwrap();
        drop(f);
        // A file made by hand whose last record has no newline: that record counts.
        let mut hand = std::fs::File::create(d.join("by-hand.jsonl")).unwrap();
        let mut last = Vec::new();
        Exchange::json("A", "v1", "e", b"{}", b"{}")
            .write_line(&mut last)
            .unwrap();
        hand.write_all(&last[..last.len() - 1]).unwrap();
        drop(hand);
        let cur = collect(dir.path(), None, None, 2).unwrap();
        assert_eq!((cur.records, cur.unreadable), (4, 1));
        let mut ids = Vec::new();
        let bad = crate::capture::visit_capture_dir(dir.path(), |r| {
            ids.push(r.event_metadata.inference_id)
        })
        .unwrap();
        assert_eq!(
            (ids, bad),
            (vec!["e".into(), "a".into(), "b".into(), "c".into()], 1)
        );
    }
}
