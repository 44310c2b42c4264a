//! Live figures of an endpoint from its Prometheus exposition: each read of `/metrics` is
//! one sample of the counters, histograms and gauges per variant; rates, latency
//! quantiles, error rates and batch sizes are the differences between consecutive samples.
//! Samples are taken only when a page asks (at most once per scrape interval per
//! endpoint), so a closed page costs the endpoint nothing.
use prometheus_parse::{Scrape, Value};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const INVOCATIONS: &str = "sentio_invocations_total";
const ERRORS_4XX: &str = "sentio_invocation_4xx_errors_total";
const ERRORS_5XX: &str = "sentio_invocation_5xx_errors_total";
const MODEL_LATENCY: &str = "sentio_model_latency_seconds";
const OVERHEAD_LATENCY: &str = "sentio_overhead_latency_seconds";
const BATCH_SIZE: &str = "sentio_batch_size";
const QUEUE_DEPTH: &str = "sentio_queue_depth";
const SHED: &str = "sentio_shed_requests_total";

/// One variant's counters in one sample (summed over its model versions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub invocations: f64,
    pub errors: f64,
    /// Cumulative counts of (model + overhead) latency by upper bound, seconds.
    pub latency: BTreeMap<OrderedBound, f64>,
    pub batch_sum: f64,
    pub batch_count: f64,
    pub queue_depth: f64,
}

/// A histogram bucket bound usable as a map key (bounds are finite or +∞, never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderedBound(pub f64);
impl Eq for OrderedBound {}
impl Ord for OrderedBound {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl PartialOrd for OrderedBound {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// One read of `/metrics`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub unix: f64,
    pub variants: BTreeMap<String, Counters>,
    pub shed: f64,
}

/// Parses the exposition text.
pub fn parse(text: &str, at: Instant, unix: f64) -> Sample {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let samples = Scrape::parse(lines).map(|s| s.samples).unwrap_or_default();
    let mut variants: BTreeMap<String, Counters> = BTreeMap::new();
    let mut shed = 0.0;
    for s in samples {
        let scalar = match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => 0.0,
        };
        if s.metric == SHED {
            shed += scalar;
            continue;
        }
        let Some(variant) = s.labels.get("variant") else {
            continue;
        };
        let c = variants.entry(variant.to_string()).or_default();
        match s.metric.as_str() {
            INVOCATIONS => c.invocations += scalar,
            ERRORS_4XX | ERRORS_5XX => c.errors += scalar,
            QUEUE_DEPTH => c.queue_depth += scalar,
            m if m == format!("{BATCH_SIZE}_sum") => c.batch_sum += scalar,
            m if m == format!("{BATCH_SIZE}_count") => c.batch_count += scalar,
            MODEL_LATENCY | OVERHEAD_LATENCY => {
                // Model and overhead latency are added bucket by bucket: an approximation of
                // the total latency's distribution that is exact in its count.
                if let Value::Histogram(buckets) = &s.value {
                    for b in buckets {
                        *c.latency.entry(OrderedBound(b.less_than)).or_default() += b.count / 2.0;
                    }
                }
            }
            _ => {}
        }
    }
    Sample {
        at,
        unix,
        variants,
        shed,
    }
}

/// The q-quantile of the observations between two cumulative histograms (linear within a
/// bucket); None without observations.
pub fn quantile(
    before: &BTreeMap<OrderedBound, f64>,
    after: &BTreeMap<OrderedBound, f64>,
    q: f64,
) -> Option<f64> {
    let delta: Vec<(f64, f64)> = after
        .iter()
        .map(|(b, n)| (b.0, (n - before.get(b).copied().unwrap_or(0.0)).max(0.0)))
        .collect();
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let target = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (bound, cum) in delta {
        if cum >= target {
            if bound.is_infinite() {
                return Some(lower);
            }
            let inside = (cum - below).max(f64::MIN_POSITIVE);
            return Some(lower + (bound - lower) * ((target - below) / inside).clamp(0.0, 1.0));
        }
        lower = bound;
        below = cum;
    }
    Some(lower)
}

/// Figures of one variant over one interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    /// End of the interval, Unix seconds.
    pub t: f64,
    pub requests_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Failed share of the interval's invocations.
    pub error_rate: f64,
    pub mean_batch_size: Option<f64>,
    pub queue_depth: f64,
}

/// An endpoint's live series.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Series {
    pub variants: BTreeMap<String, Vec<Point>>,
    /// Requests shed by the endpoint per second (all variants), per interval: (t, rate).
    pub shed_per_s: Vec<(f64, f64)>,
    /// Requests per second over the last interval, all variants.
    pub total_requests_per_s: Option<f64>,
}

/// The series of consecutive samples (an interval where a counter went backwards, after a
/// restart, is left out).
pub fn series(samples: &VecDeque<Sample>) -> Series {
    let mut out = Series::default();
    for (a, b) in samples.iter().zip(samples.iter().skip(1)) {
        let dt = b.at.duration_since(a.at).as_secs_f64();
        if dt <= 0.0 {
            continue;
        }
        let mut total = 0.0;
        for (name, cb) in &b.variants {
            let ca = a.variants.get(name).cloned().unwrap_or_default();
            let inv = cb.invocations - ca.invocations;
            if inv < 0.0 {
                continue;
            }
            total += inv / dt;
            let batches = cb.batch_count - ca.batch_count;
            out.variants.entry(name.clone()).or_default().push(Point {
                t: b.unix,
                requests_per_s: inv / dt,
                p50_ms: quantile(&ca.latency, &cb.latency, 0.5).map(|s| s * 1e3),
                p99_ms: quantile(&ca.latency, &cb.latency, 0.99).map(|s| s * 1e3),
                error_rate: if inv > 0.0 {
                    ((cb.errors - ca.errors) / inv).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                mean_batch_size: (batches > 0.0).then(|| (cb.batch_sum - ca.batch_sum) / batches),
                queue_depth: cb.queue_depth,
            });
        }
        out.shed_per_s
            .push((b.unix, ((b.shed - a.shed) / dt).max(0.0)));
        out.total_requests_per_s = Some(total);
    }
    out
}

/// The samples of every endpoint.
pub struct Live {
    min_interval: Duration,
    keep: usize,
    rings: Mutex<HashMap<String, VecDeque<Sample>>>,
}

impl Live {
    pub fn new(min_interval: Duration, keep: usize) -> Self {
        Live {
            min_interval,
            keep: keep.max(2),
            rings: Mutex::new(HashMap::new()),
        }
    }

    fn rings(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Sample>>> {
        self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a new sample of `endpoint` is due.
    pub fn due(&self, endpoint: &str) -> bool {
        self.rings()
            .get(endpoint)
            .and_then(|r| r.back())
            .is_none_or(|s| s.at.elapsed() >= self.min_interval)
    }

    pub fn push(&self, endpoint: &str, sample: Sample) {
        let mut rings = self.rings();
        let ring = rings.entry(endpoint.to_string()).or_default();
        if ring.back().is_some_and(|last| last.at >= sample.at) {
            return;
        }
        ring.push_back(sample);
        while ring.len() > self.keep {
            ring.pop_front();
        }
    }

    pub fn series(&self, endpoint: &str) -> Series {
        self.rings().get(endpoint).map(series).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(inv: f64, fast: f64, slow: f64, shed: f64) -> String {
        format!(
            "# TYPE sentio_invocations_total counter\n\
sentio_invocations_total{{variant=\"A\",model_version=\"v1\"}} {inv}\n\
sentio_invocation_5xx_errors_total{{variant=\"A\",model_version=\"v1\"}} {}\n\
# TYPE sentio_model_latency_seconds histogram\n\
sentio_model_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"0.01\"}} {fast}\n\
sentio_model_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"0.1\"}} {}\n\
sentio_model_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"+Inf\"}} {}\n\
# TYPE sentio_overhead_latency_seconds histogram\n\
sentio_overhead_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"0.01\"}} {fast}\n\
sentio_overhead_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"0.1\"}} {}\n\
sentio_overhead_latency_seconds_bucket{{variant=\"A\",model_version=\"v1\",le=\"+Inf\"}} {}\n\
# TYPE sentio_batch_size histogram\n\
sentio_batch_size_sum{{variant=\"A\",model_version=\"v1\"}} {}\n\
sentio_batch_size_count{{variant=\"A\",model_version=\"v1\"}} {}\n\
# TYPE sentio_queue_depth gauge\n\
sentio_queue_depth{{variant=\"A\",model_version=\"v1\"}} 3\n\
# TYPE sentio_shed_requests_total counter\n\
sentio_shed_requests_total{{reason=\"overloaded\"}} {shed}\n",
            inv / 10.0,
            fast + slow,
            fast + slow,
            fast + slow,
            fast + slow,
            inv * 2.0,
            inv / 2.0,
        )
    }

    #[test]
    fn rates_quantiles_and_errors_between_samples() {
        let t0 = Instant::now();
        let mut ring = VecDeque::new();
        ring.push_back(parse(&text(100.0, 100.0, 0.0, 0.0), t0, 1000.0));
        // 2 s later: 200 more requests, half of them slow (10–100 ms), 4 shed.
        ring.push_back(parse(
            &text(300.0, 200.0, 100.0, 4.0),
            t0 + Duration::from_secs(2),
            1002.0,
        ));
        let s = series(&ring);
        let p = &s.variants["A"][0];
        assert_eq!(p.t, 1002.0);
        assert!((p.requests_per_s - 100.0).abs() < 1e-9);
        assert!((p.error_rate - 0.1).abs() < 1e-9);
        assert_eq!(p.mean_batch_size, Some(4.0));
        assert_eq!(p.queue_depth, 3.0);
        // Half the interval's observations are under 10 ms: the median is at 10 ms, the
        // 99th percentile inside the 10–100 ms bucket.
        assert!((p.p50_ms.unwrap() - 10.0).abs() < 1e-6, "{p:?}");
        assert!(
            p.p99_ms.unwrap() > 90.0 && p.p99_ms.unwrap() <= 100.0,
            "{p:?}"
        );
        assert_eq!(s.shed_per_s, vec![(1002.0, 2.0)]);
        assert_eq!(s.total_requests_per_s, Some(100.0));
        // A restart (counters back to zero) leaves the interval out.
        ring.push_back(parse(
            &text(5.0, 5.0, 0.0, 0.0),
            t0 + Duration::from_secs(4),
            1004.0,
        ));
        assert_eq!(series(&ring).variants["A"].len(), 1);
    }

    #[test]
    fn samples_are_due_once_per_interval() {
        let live = Live::new(Duration::from_secs(3600), 3);
        assert!(live.due("e"));
        live.push("e", parse("", Instant::now(), 1.0));
        assert!(!live.due("e"));
        assert!(live.series("e").variants.is_empty());
    }
}
