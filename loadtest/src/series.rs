//! Per-second time series: completions, errors and latency percentiles.
//!
//! Each worker keeps the bucket of its current second and merges it into
//! the shared series when the second changes (or before it sleeps into a
//! later second), so the lock is taken about once per worker per second.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Responses with a status other than 2xx received in this second
    /// (included in `completed`).
    #[serde(default)]
    pub non_2xx: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl SecondStats {
    /// Requests finished in this second: responses plus failures.
    pub fn finished(&self) -> u64 {
        self.completed + self.errors
    }
}

struct Bucket {
    completed: u64,
    errors: u64,
    non_2xx: u64,
    latency: Histogram<u32>,
}

impl Bucket {
    fn new() -> Self {
        Self {
            completed: 0,
            errors: 0,
            non_2xx: 0,
            latency: coarse_histogram(),
        }
    }

    fn is_empty(&self) -> bool {
        self.completed + self.errors == 0
    }

    fn stats(&self, second: usize) -> SecondStats {
        let ms = |us: u64| us as f64 / 1000.0;
        let q = |q: f64| {
            if self.latency.is_empty() {
                0.0
            } else {
                ms(self.latency.value_at_quantile(q))
            }
        };
        SecondStats {
            second: second as u64,
            completed: self.completed,
            errors: self.errors,
            non_2xx: self.non_2xx,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            max_ms: if self.latency.is_empty() {
                0.0
            } else {
                ms(self.latency.max())
            },
        }
    }
}

/// The series shared by all workers.
pub(crate) struct SeriesSink {
    origin: Instant,
    buckets: Mutex<Vec<Bucket>>,
    /// Seconds already handed to live progress.
    reported: AtomicUsize,
}

impl SeriesSink {
    pub(crate) fn new(origin: Instant) -> Arc<Self> {
        Arc::new(Self {
            origin,
            buckets: Mutex::new(Vec::new()),
            reported: AtomicUsize::new(0),
        })
    }

    /// When second 0 began.
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// The second (since the origin) that `at` falls in.
    fn second_of(&self, at: Instant) -> usize {
        (at.saturating_duration_since(self.origin).as_secs() as usize).min(MAX_SECONDS - 1)
    }

    fn merge(&self, second: usize, bucket: &Bucket) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        while buckets.len() <= second {
            buckets.push(Bucket::new());
        }
        let target = &mut buckets[second];
        target.completed += bucket.completed;
        target.errors += bucket.errors;
        target.non_2xx += bucket.non_2xx;
        // Same bounds on both sides: adding cannot fail.
        let _ = target.latency.add(&bucket.latency);
    }

    /// Number of seconds that hold data so far (the last one may be partial).
    pub(crate) fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// One second as merged so far (zeros when nothing was recorded in it).
    pub(crate) fn second(&self, second: usize) -> SecondStats {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match buckets.get(second) {
            Some(bucket) => bucket.stats(second),
            None => Bucket::new().stats(second),
        }
    }

    /// The series so far.
    pub(crate) fn snapshot(&self) -> Vec<SecondStats> {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .iter()
            .enumerate()
            .map(|(second, b)| b.stats(second))
            .collect()
    }

    /// The next second live progress will report.
    pub(crate) fn reported(&self) -> usize {
        self.reported.load(Ordering::Acquire)
    }

    /// Marks `second` as reported.
    pub(crate) fn set_reported(&self, next: usize) {
        self.reported.store(next, Ordering::Release);
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

    /// Moves to the bucket of `at`'s second, flushing the current one if
    /// `at` is in another second.
    fn advance(&mut self, at: Instant) {
        let second = self.sink.second_of(at);
        if second != self.second {
            self.flush();
            self.second = second;
        }
    }

    /// Records a response received at `at` after `latency_us` µs; `ok`:
    /// its status was 2xx.
    pub(crate) fn record_answer(&mut self, at: Instant, latency_us: u64, ok: bool) {
        self.advance(at);
        self.bucket.completed += 1;
        if !ok {
            self.bucket.non_2xx += 1;
        }
        self.bucket.latency.saturating_record(latency_us);
    }

    /// Records a request that failed at `at`.
    pub(crate) fn record_failure(&mut self, at: Instant) {
        self.advance(at);
        self.bucket.errors += 1;
    }

    /// Called before the worker waits until `until`: if that is in a later
    /// second, the current bucket is complete, so it is merged now rather
    /// than when the worker next records (live progress sees it in time).
    pub(crate) fn settle(&mut self, until: Instant) {
        if self.sink.second_of(until) != self.second {
            self.flush();
        }
    }

    /// Merges the current bucket into the shared series.
    pub(crate) fn flush(&mut self) {
        if !self.bucket.is_empty() {
            self.sink.merge(self.second, &self.bucket);
            self.bucket.completed = 0;
            self.bucket.errors = 0;
            self.bucket.non_2xx = 0;
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
        a.record_answer(origin + Duration::from_millis(100), 1000, true);
        b.record_answer(origin + Duration::from_millis(900), 3000, false);
        a.record_failure(origin + Duration::from_millis(2500));
        a.flush();
        b.flush();
        let s = sink.snapshot();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].completed, s[0].errors, s[0].non_2xx), (2, 0, 1));
        assert!((s[0].max_ms - 3.0).abs() < 0.1);
        assert_eq!((s[1].completed, s[1].errors), (0, 0));
        assert_eq!((s[2].completed, s[2].errors), (0, 1));
        assert_eq!(s[2].finished(), 1);
        assert_eq!(sink.second(0), s[0]);
        assert_eq!(sink.second(7).completed, 0);
    }

    #[test]
    fn settle_flushes_only_when_waiting_into_another_second() {
        let origin = Instant::now();
        let sink = SeriesSink::new(origin);
        let mut a = SeriesRecorder::new(sink.clone());
        a.record_answer(origin + Duration::from_millis(100), 1000, true);
        a.settle(origin + Duration::from_millis(900));
        assert_eq!(sink.len(), 0, "same second: still buffered");
        a.settle(origin + Duration::from_millis(1100));
        assert_eq!(sink.len(), 1);
        assert_eq!(sink.second(0).completed, 1);
    }
}
