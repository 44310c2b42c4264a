//! The result of a load test, serialized as the JSON report.
//!
//! The schema is documented in `loadtest/README.md`; bump
//! [`SCHEMA_VERSION`] on any incompatible change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Outcome;
use crate::histogram::LatencyStats;
use crate::recorder::Recorder;
use crate::series::SecondStats;

/// Version of the JSON report schema.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole load test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"loadtest"`.
    pub tool: String,
    /// Version of the crate that wrote the report.
    pub tool_version: String,
    /// `"open_loop"`, `"closed_loop"` or `"ramp"`.
    pub mode: String,
    /// Target URL.
    pub target: String,
    /// Keep-alive connections (closed loop: concurrency).
    pub connections: usize,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Whether the test was stopped early (Ctrl-C).
    pub interrupted: bool,
    /// The measured run; for a ramp, its best passing step (`null` when no
    /// step passed).
    pub run: Option<RunReport>,
    /// The ramp search, for `mode = "ramp"`.
    pub ramp: Option<RampReport>,
    /// Per-second series of the whole test.
    pub timeseries: Vec<SecondStats>,
}

/// One open- or closed-loop run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Open loop: the arrival rate asked for; closed loop: `null`.
    pub intended_rate: Option<f64>,
    /// Responses plus failures per second of `elapsed_s`.
    pub achieved_rate: f64,
    /// From the first due request until the last response; in open loop at
    /// least `scheduled / intended_rate`.
    pub elapsed_s: f64,
    pub requests: RequestCounts,
    /// Responses by HTTP status code (keys are the codes as strings).
    pub status_codes: BTreeMap<String, u64>,
    pub errors: ErrorCounts,
    pub bytes: ByteCounts,
    /// Open loop: from each request's intended send time (coordinated
    /// omission corrected); closed loop: from the actual send.
    pub latency_ms: LatencyStats,
    /// From the actual send time, whatever the mode.
    pub service_time_ms: LatencyStats,
    /// Per value of the `X-Amzn-Invoked-Production-Variant` response header.
    pub variants: BTreeMap<String, VariantReport>,
}

/// Request counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Open loop: requests due within the bounds; closed loop: `null`.
    pub scheduled: Option<u64>,
    /// Requests sent (or attempted).
    pub sent: u64,
    /// Requests that got a response (any status).
    pub completed: u64,
    /// Responses with a 2xx status.
    pub ok: u64,
    /// Responses with another status.
    pub non_2xx: u64,
    /// Requests without a response: `errors.connect + errors.timeout + errors.io`.
    pub failed: u64,
    /// Open loop: due requests never sent because no connection was free
    /// before the end (raise `--connections`); closed loop: 0.
    pub unsent: u64,
}

/// Requests without a response, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub io: u64,
}

/// Bytes on the wire (HTTP heads and bodies; no TCP/IP overhead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteCounts {
    pub sent: u64,
    pub received: u64,
}

/// One invoked variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantReport {
    pub count: u64,
    pub latency_ms: LatencyStats,
    pub status_codes: BTreeMap<String, u64>,
}

/// The ramp search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampReport {
    pub p99_objective_ms: f64,
    pub max_error_rate: f64,
    pub step_duration_s: f64,
    /// Highest passing rate, or `null` when even the first step failed.
    pub max_rate: Option<f64>,
    /// Steps in the order they ran.
    pub steps: Vec<RampStep>,
}

/// One step of the ramp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampStep {
    pub intended_rate: f64,
    pub achieved_rate: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    pub unsent: u64,
    pub passed: bool,
}

impl RunReport {
    pub(crate) fn from_outcome(outcome: &Outcome, intended_rate: Option<f64>) -> Self {
        let r: &Recorder = &outcome.recorder;
        let completed = r.completed();
        let ok = r
            .status
            .iter()
            .filter(|(code, _)| (200..300).contains(*code))
            .map(|(_, n)| n)
            .sum();
        let elapsed_s = outcome.elapsed.as_secs_f64();
        let done = completed + r.failures.total();
        Self {
            intended_rate,
            achieved_rate: if elapsed_s > 0.0 {
                done as f64 / elapsed_s
            } else {
                0.0
            },
            elapsed_s,
            requests: RequestCounts {
                scheduled: outcome.scheduled,
                sent: r.sent,
                completed,
                ok,
                non_2xx: completed - ok,
                failed: r.failures.total(),
                unsent: outcome.scheduled.map_or(0, |s| s.saturating_sub(r.sent)),
            },
            status_codes: codes(&r.status),
            errors: ErrorCounts {
                connect: r.failures.connect,
                timeout: r.failures.timeout,
                io: r.failures.io,
            },
            bytes: ByteCounts {
                sent: r.bytes_sent,
                received: r.bytes_received,
            },
            latency_ms: LatencyStats::from_histogram(&r.latency),
            service_time_ms: LatencyStats::from_histogram(r.service_time()),
            variants: r
                .variants
                .iter()
                .map(|(name, v)| {
                    (
                        name.clone(),
                        VariantReport {
                            count: v.latency.len(),
                            latency_ms: LatencyStats::from_histogram(&v.latency),
                            status_codes: codes(&v.status),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Fraction of sent requests that failed or got a non-2xx answer.
    pub fn error_rate(&self) -> f64 {
        if self.requests.sent == 0 {
            return 0.0;
        }
        (self.requests.failed + self.requests.non_2xx) as f64 / self.requests.sent as f64
    }
}

fn codes(status: &BTreeMap<u16, u64>) -> BTreeMap<String, u64> {
    status.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Responses received over the whole test (all ramp steps included).
    pub fn responses(&self) -> u64 {
        self.timeseries.iter().map(|s| s.completed).sum()
    }
}
