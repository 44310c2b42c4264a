//! Per-second time series: completions, errors and latency percentiles.
//!
//! Each worker keeps the bucket of its current second and merges it into
//! the shared series when the second changes, so the lock is taken about
//! once per worker per second.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::histogram::coarse_histogram;

/// Longest series kept (one day); later seconds go into the last bucket.
const MAX_SECONDS: usize = 86_400;

/// One second of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondStats {
    /// Seconds since the start of the run (the ramp: of the whole search).
    pub second: u64,
    /// Responses received in this second (any status).
    pub completed: u64,
    /// Requests that failed in this second (connect, timeout, io).
    pub errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

struct Bucket {
    completed: u64,
    errors: u64,
    latency: Histogram<u32>,
}

impl Bucket {
    fn new() -> Self {
        Self {
            completed: 0,
            errors: 0,
            latency: coarse_histogram(),
        }
    }
}

/// The series shared by all workers.
pub(crate) struct SeriesSink {
    origin: Instant,
    buckets: Mutex<Vec<Bucket>>,
}

impl SeriesSink {
    pub(crate) fn new(origin: Instant) -> Arc<Self> {
        Arc::new(Self {
            origin,
            buckets: Mutex::new(Vec::new()),
        })
    }

    fn merge(&self, second: usize, bucket: &Bucket) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        while buckets.len() <= second {
            buckets.push(Bucket::new());
        }
        let target = &mut buckets[second];
        target.completed += bucket.completed;
        target.errors += bucket.errors;
        // Same bounds on both sides: adding cannot fail.
        let _ = target.latency.add(&bucket.latency);
    }

    /// The series so far.
    pub(crate) fn snapshot(&self) -> Vec<SecondStats> {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let ms = |us: u64| us as f64 / 1000.0;
        buckets
            .iter()
            .enumerate()
            .map(|(second, b)| {
                let q = |q: f64| {
                    if b.latency.is_empty() {
                        0.0
                    } else {
                        ms(b.latency.value_at_quantile(q))
                    }
                };
                SecondStats {
                    second: second as u64,
                    completed: b.completed,
                    errors: b.errors,
                    p50_ms: q(0.5),
                    p90_ms: q(0.9),
                    p99_ms: q(0.99),
                    max_ms: if b.latency.is_empty() {
                        0.0
                    } else {
                        ms(b.latency.max())
                    },
                }
            })
            .collect()
    }
}

/// A worker's view of the series.
pub(crate) struct SeriesRecorder {
    sink: Arc<SeriesSink>,
    second: usize,
    bucket: Bucket,
}

impl SeriesRecorder {
    pub(crate) fn new(sink: Arc<SeriesSink>) -> Self {
        Self {
            sink,
            second: 0,
            bucket: Bucket::new(),
        }
    }

    /// Records one outcome observed at `at`: a latency in µs, or an error.
    pub(crate) fn record(&mut self, at: Instant, latency_us: Option<u64>) {
        let second = (at.saturating_duration_since(self.sink.origin).as_secs() as usize)
            .min(MAX_SECONDS - 1);
        if second != self.second {
            self.flush();
            self.second = second;
        }
        match latency_us {
            Some(us) => {
                self.bucket.completed += 1;
                self.bucket.latency.saturating_record(us);
            }
            None => self.bucket.errors += 1,
        }
    }

    /// Merges the current bucket into the shared series.
    pub(crate) fn flush(&mut self) {
        if self.bucket.completed + self.bucket.errors > 0 {
            self.sink.merge(self.second, &self.bucket);
            self.bucket.completed = 0;
            self.bucket.errors = 0;
            self.bucket.latency.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_by_second() {
        let origin = Instant::now();
        let sink = SeriesSink::new(origin);
        let mut a = SeriesRecorder::new(sink.clone());
        let mut b = SeriesRecorder::new(sink.clone());
        a.record(origin + Duration::from_millis(100), Some(1000));
        b.record(origin + Duration::from_millis(900), Some(3000));
        a.record(origin + Duration::from_millis(2500), None);
        a.flush();
        b.flush();
        let s = sink.snapshot();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].completed, s[0].errors), (2, 0));
        assert!((s[0].max_ms - 3.0).abs() < 0.1);
        assert_eq!((s[1].completed, s[1].errors), (0, 0));
        assert_eq!((s[2].completed, s[2].errors), (0, 1));
    }
}
