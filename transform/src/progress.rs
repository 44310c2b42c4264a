//! Live state of a job: its counts and their report (a progress bar with records/s and an
//! ETA by input bytes on a terminal, plain log lines otherwise), and how it is stopped.
use super::checkpoint::Checkpoint;
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a job ended (SageMaker's `TransformJobStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    #[default]
    InProgress,
    Completed,
    Failed,
    /// Stopped by a signal; rerunning the same command resumes it.
    Stopped,
}

/// Stops every file of a job at its next chunk. The first reason given is the job's.
#[derive(Debug, Default)]
pub struct Stop {
    flag: AtomicBool,
    reason: Mutex<Option<(JobStatus, String, Option<i32>)>>,
}

impl Stop {
    /// Ends the job (`Failed`, or `Stopped` by `signal`) unless it has ended already.
    pub fn end(&self, status: JobStatus, reason: String, signal: Option<i32>) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        r.get_or_insert((status, reason, signal));
        self.flag.store(true, Ordering::Relaxed);
    }

    pub fn fail(&self, reason: String) {
        self.end(JobStatus::Failed, reason, None);
    }

    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// The status, reason and signal of an ended job.
    pub fn outcome(&self) -> Option<(JobStatus, String, Option<i32>)> {
        let r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        r.clone()
    }
}

/// Counters shared by the files of a job (read by `GET /transform-jobs/{id}`).
#[derive(Debug, Default)]
pub struct Counters {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub truncated: AtomicU64,
    /// Raw input bytes read (of `total_bytes`).
    pub bytes_read: Arc<AtomicU64>,
    pub total_bytes: AtomicU64,
}

/// A snapshot of `Counters`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub records: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub truncated: u64,
    pub bytes_read: u64,
    pub total_bytes: u64,
}

impl Counters {
    pub fn record(&self, ok: bool, truncated: bool) {
        if ok {
            self.succeeded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if truncated {
            self.truncated.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts records already done by an earlier run (and their input bytes).
    pub fn add_done(&self, c: &Checkpoint, bytes: u64) {
        self.succeeded.fetch_add(c.succeeded, Ordering::Relaxed);
        self.failed.fetch_add(c.failed, Ordering::Relaxed);
        self.truncated.fetch_add(c.truncated, Ordering::Relaxed);
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Counts {
        let succeeded = self.succeeded.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        Counts {
            records: succeeded + failed,
            succeeded,
            failed,
            truncated: self.truncated.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            total_bytes: self.total_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Reports progress until dropped.
pub struct Reporter {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Reporter {
    /// Starts reporting on the current runtime.
    pub fn start(counters: Arc<Counters>) -> Reporter {
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let tty = std::io::stderr().is_terminal();
        tokio::spawn(async move {
            let started = Instant::now();
            let total = counters.total_bytes.load(Ordering::Relaxed);
            let bar = tty.then(|| {
                let b = indicatif::ProgressBar::new(total);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg} ETA {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let every = if tty {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    _ = tick.tick() => {}
                }
                let c = counters.snapshot();
                let rate = c.records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                match &bar {
                    Some(b) => {
                        b.set_position(c.bytes_read.min(total));
                        b.set_message(format!(
                            "{} records, {} failed, {rate:.0} records/s",
                            c.records, c.failed
                        ));
                    }
                    None => tracing::info!(
                        records = c.records,
                        failed = c.failed,
                        records_per_second = rate.round(),
                        percent = (100.0 * c.bytes_read as f64 / total.max(1) as f64).round(),
                        "transform progress"
                    ),
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Reporter { stop: Some(tx) }
    }
}
