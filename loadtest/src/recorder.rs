//! Per-worker measurement, merged once at the end of a run.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::connection::{Answer, Failure};
use crate::histogram::{latency_histogram, micros};
use crate::series::SeriesRecorder;

/// At most this many distinct variant names are tracked; more are lumped
/// together under [`OTHER_VARIANTS`].
const MAX_VARIANTS: usize = 64;
/// Name under which variants beyond [`MAX_VARIANTS`] are counted.
pub const OTHER_VARIANTS: &str = "(other)";

/// Latency and status counts of one invoked variant.
pub(crate) struct VariantStats {
    pub latency: Histogram<u64>,
    pub status: BTreeMap<u16, u64>,
}

impl VariantStats {
    fn new() -> Self {
        Self {
            latency: latency_histogram(),
            status: BTreeMap::new(),
        }
    }
}

/// Counts of requests that got no response, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FailureCounts {
    pub connect: u64,
    pub timeout: u64,
    pub io: u64,
}

impl FailureCounts {
    pub(crate) fn total(&self) -> u64 {
        self.connect + self.timeout + self.io
    }
}

/// Everything measured by one worker (or, merged, by a run).
pub(crate) struct Recorder {
    /// From intended send time to the end of the response (open loop);
    /// from the actual send time (closed loop).
    pub latency: Histogram<u64>,
    /// From the actual send time to the end of the response; left empty
    /// when `service_is_latency` (see [`Recorder::service_time`]).
    pub service: Histogram<u64>,
    /// Closed loop sends when due, so its service time is its latency and
    /// is not recorded twice.
    service_is_latency: bool,
    pub status: BTreeMap<u16, u64>,
    pub failures: FailureCounts,
    pub variants: HashMap<String, VariantStats>,
    pub sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    series: Option<SeriesRecorder>,
}

impl Recorder {
    pub(crate) fn new(series: Option<SeriesRecorder>, service_is_latency: bool) -> Self {
        Self {
            service_is_latency,
            latency: latency_histogram(),
            service: latency_histogram(),
            status: BTreeMap::new(),
            failures: FailureCounts::default(),
            variants: HashMap::new(),
            sent: 0,
            bytes_sent: 0,
            bytes_received: 0,
            series,
        }
    }

    /// Records one request sent at `sent_at`, due at `intended`, finished
    /// at `done`.
    pub(crate) fn record(
        &mut self,
        intended: Instant,
        sent_at: Instant,
        done: Instant,
        wire_bytes: u64,
        outcome: &Result<Answer, Failure>,
    ) {
        self.sent += 1;
        self.bytes_sent += wire_bytes;
        match outcome {
            Ok(answer) => {
                let latency = micros(done.saturating_duration_since(intended));
                self.latency.saturating_record(latency);
                if !self.service_is_latency {
                    self.service
                        .saturating_record(micros(done.saturating_duration_since(sent_at)));
                }
                *self.status.entry(answer.status).or_default() += 1;
                self.bytes_received += answer.wire_bytes;
                if let Some(variant) = &answer.variant {
                    let name = String::from_utf8_lossy(variant.as_bytes());
                    let stats = match self.variants.get_mut(name.as_ref()) {
                        Some(stats) => stats,
                        None => {
                            let key = if self.variants.len() < MAX_VARIANTS {
                                name.into_owned()
                            } else {
                                OTHER_VARIANTS.to_string()
                            };
                            self.variants.entry(key).or_insert_with(VariantStats::new)
                        }
                    };
                    stats.latency.saturating_record(latency);
                    *stats.status.entry(answer.status).or_default() += 1;
                }
                if let Some(series) = &mut self.series {
                    series.record_answer(done, latency, (200..300).contains(&answer.status));
                }
            }
            Err(failure) => {
                match failure {
                    Failure::Connect => self.failures.connect += 1,
                    Failure::Timeout => self.failures.timeout += 1,
                    Failure::Io => self.failures.io += 1,
                }
                if let Some(series) = &mut self.series {
                    series.record_failure(done);
                }
            }
        }
    }

    /// Adds `other` (another worker's measurements) into `self`.
    pub(crate) fn merge(&mut self, mut other: Recorder) {
        other.flush_series();
        // Identical bounds: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        for (code, n) in other.status {
            *self.status.entry(code).or_default() += n;
        }
        self.failures.connect += other.failures.connect;
        self.failures.timeout += other.failures.timeout;
        self.failures.io += other.failures.io;
        for (name, stats) in other.variants {
            let key = if self.variants.len() < MAX_VARIANTS || self.variants.contains_key(&name) {
                name
            } else {
                OTHER_VARIANTS.to_string()
            };
            let mine = self.variants.entry(key).or_insert_with(VariantStats::new);
            let _ = mine.latency.add(&stats.latency);
            for (code, n) in stats.status {
                *mine.status.entry(code).or_default() += n;
            }
        }
        self.sent += other.sent;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
    }

    /// Before waiting until `until`: merges the per-second bucket if that
    /// is in a later second.
    pub(crate) fn settle_series(&mut self, until: Instant) {
        if let Some(series) = &mut self.series {
            series.settle(until);
        }
    }

    /// Pushes the pending per-second bucket to the shared series.
    pub(crate) fn flush_series(&mut self) {
        if let Some(series) = &mut self.series {
            series.flush();
        }
    }

    /// Service times (from the actual send).
    pub(crate) fn service_time(&self) -> &Histogram<u64> {
        if self.service_is_latency {
            &self.latency
        } else {
            &self.service
        }
    }

    /// Responses received (any status).
    pub(crate) fn completed(&self) -> u64 {
        self.status.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use std::time::Duration;

    fn answer(status: u16, variant: Option<&'static str>) -> Result<Answer, Failure> {
        Ok(Answer {
            status,
            variant: variant.map(HeaderValue::from_static),
            wire_bytes: 10,
        })
    }

    #[test]
    fn records_and_merges() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        let t2 = t0 + Duration::from_millis(7);
        let mut a = Recorder::new(None, false);
        a.record(t0, t1, t2, 100, &answer(200, Some("A")));
        a.record(t0, t1, t2, 100, &Err(Failure::Timeout));
        let mut b = Recorder::new(None, false);
        b.record(t0, t0, t1, 50, &answer(503, Some("B")));
        b.record(t0, t0, t1, 50, &answer(200, None));
        b.record(t0, t0, t1, 50, &Err(Failure::Connect));
        a.merge(b);
        assert_eq!(a.sent, 5);
        assert_eq!(a.completed(), 3);
        assert_eq!(a.failures.total(), 2);
        assert_eq!(a.status[&200], 2);
        assert_eq!(a.status[&503], 1);
        assert_eq!(a.variants["A"].latency.len(), 1);
        assert_eq!(a.variants["B"].status[&503], 1);
        assert_eq!(a.bytes_sent, 350);
        assert_eq!(a.bytes_received, 30);
        // Latency from the intended time (7 ms), service time from the send (2 ms).
        assert!((a.variants["A"].latency.max() as i64 - 7000).abs() < 10);
        assert!(a.service_time().min() <= 2010);
    }
}
