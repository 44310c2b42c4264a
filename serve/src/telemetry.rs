//! Metric names, help texts, units, buckets and the Prometheus recorder: all in one place.
//! Every family of ours is listed once in [`FAMILIES`] (name, type, unit, help, labels):
//! the recorder describes each (`# HELP`), and each is registered with zero as soon as the
//! thing it counts exists — the unlabelled ones when the recorder starts, the per-variant
//! ones when the variant loads — so a dashboard never meets a missing series. Names have
//! the `sentio_` prefix and their unit; time is always `_duration_seconds` (never
//! "latency"); labels are bounded (variant, model version, route, status class, cause,
//! feature), never a request or inference id. Process metrics use the standard
//! `process_*` names (metrics-process), as dashboards expect.
use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};

pub const BUILD_INFO: &str = "sentio_build_info";
pub const MODEL_INFO: &str = "sentio_model_info";
pub const READY: &str = "sentio_ready";
pub const INVOCATIONS: &str = "sentio_invocations_total";
pub const INVOCATION_4XX: &str = "sentio_invocation_4xx_errors_total";
pub const INVOCATION_5XX: &str = "sentio_invocation_5xx_errors_total";
pub const MODEL_DURATION: &str = "sentio_model_duration_seconds";
pub const OVERHEAD_DURATION: &str = "sentio_overhead_duration_seconds";
pub const QUEUE_DURATION: &str = "sentio_queue_duration_seconds";
pub const INFERENCE_DURATION: &str = "sentio_inference_duration_seconds";
pub const TOKENIZATION_DURATION: &str = "sentio_tokenization_duration_seconds";
pub const BATCH_SIZE: &str = "sentio_batch_size";
pub const QUEUE_DEPTH: &str = "sentio_queue_depth";
pub const ABANDONED: &str = "sentio_abandoned_instances_total";
pub const INSTANCE_FAILURES: &str = "sentio_instance_failures_total";
pub const SHED: &str = "sentio_shed_requests_total";
pub const MODEL_LOAD: &str = "sentio_model_load_duration_seconds";
pub const HTTP_REQUESTS: &str = "sentio_http_requests_total";
pub const HTTP_DURATION: &str = "sentio_http_request_duration_seconds";
pub const CAPTURED: &str = "sentio_capture_records_total";
pub const CAPTURE_DROPPED: &str = "sentio_capture_dropped_total";
pub const CAPTURE_WRITE_ERRORS: &str = "sentio_capture_write_errors_total";
pub const SHADOW_REQUESTS: &str = "sentio_shadow_requests_total";
pub const SHADOW_DROPPED: &str = "sentio_shadow_dropped_total";
pub const SHADOW_AGREEMENTS: &str = "sentio_shadow_agreements_total";
pub const SHADOW_COMPARED: &str = "sentio_shadow_compared_total";
pub const FEEDBACK_RECORDS: &str = "sentio_feedback_records_total";
pub const FEEDBACK_UNKNOWN: &str = "sentio_feedback_unknown_ids_total";
pub const FEEDBACK_REPLACED: &str = "sentio_feedback_replaced_total";
pub const CANARY_PROMOTIONS: &str = "sentio_canary_promotions_total";
pub const RETRAININGS: &str = "sentio_retrainings_total";
pub const DRIFT_PSI: &str = "sentio_drift_psi";
pub const DRIFT_JS: &str = "sentio_drift_js_distance";
pub const DRIFT_P_VALUE: &str = "sentio_drift_p_value";
pub const DRIFT_DETECTED: &str = "sentio_drift_detected";
pub const DRIFT_VIOLATIONS: &str = "sentio_drift_violations";
pub const DRIFT_RECORDS: &str = "sentio_drift_window_records";

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric family as a scrape shows it.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Its label names.
    pub labels: &'static [&'static str],
}

const fn family(
    name: &'static str,
    kind: Kind,
    unit: Unit,
    labels: &'static [&'static str],
    help: &'static str,
) -> Family {
    Family {
        name,
        kind,
        unit,
        help,
        labels,
    }
}

const VARIANT: &[&str] = &["variant", "model_version"];
use Kind::{Counter as C, Gauge as G, Histogram as H};
use Unit::{Count, Seconds};

/// Every family of ours (the README's metrics reference lists the same).
#[rustfmt::skip]
pub const FAMILIES: &[Family] = &[
    family(BUILD_INFO, G, Count, &["version"], "Always 1; the version of the sentio build serving."),
    family(MODEL_INFO, G, Count, VARIANT, "1 while the variant serves this model version (2 for a moment while a swapped-out version drains)."),
    family(READY, G, Count, &[], "1 when every variant is loaded and warm (GET /ping answers 200), else 0."),
    family(INVOCATIONS, C, Count, VARIANT, "Requests answered by the variant (/invocations and /v1/predict), errors included (SageMaker's Invocations)."),
    family(INVOCATION_4XX, C, Count, VARIANT, "Requests the variant answered with a 4xx status (SageMaker's Invocation4XXErrors)."),
    family(INVOCATION_5XX, C, Count, VARIANT, "Requests the variant answered with a 5xx status (SageMaker's Invocation5XXErrors)."),
    family(MODEL_DURATION, H, Seconds, VARIANT, "Time a request spent in the model: tokenization, queue wait and forward pass, or the round trip to a remote worker (SageMaker's ModelLatency)."),
    family(OVERHEAD_DURATION, H, Seconds, VARIANT, "Time a request spent in the front proxy outside the model: total minus model duration (SageMaker's OverheadLatency)."),
    family(QUEUE_DURATION, H, Seconds, VARIANT, "Time an instance waited in the variant's batch queue before its forward pass."),
    family(INFERENCE_DURATION, H, Seconds, VARIANT, "Time of one batched forward pass."),
    family(TOKENIZATION_DURATION, H, Seconds, VARIANT, "Time to tokenize one request's instances."),
    family(BATCH_SIZE, H, Count, VARIANT, "Instances (texts) per batched forward pass."),
    family(QUEUE_DEPTH, G, Count, VARIANT, "Instances waiting in the variant's batch queue."),
    family(ABANDONED, C, Count, VARIANT, "Queued instances skipped because their caller went away before the forward pass."),
    family(INSTANCE_FAILURES, C, Count, VARIANT, "Instances the model failed on (e.g. a non-finite output); the rest of their batch was answered."),
    family(MODEL_LOAD, G, Seconds, VARIANT, "Time the variant's model version took to load and warm up."),
    family(SHED, C, Count, &["reason"], "Requests refused with 429 because the server was full (reason: concurrency_limit or queue_full)."),
    family(HTTP_REQUESTS, C, Count, &["route", "status"], "HTTP responses by route group and status class (2xx, 3xx, 4xx, 5xx)."),
    family(HTTP_DURATION, H, Seconds, &["route"], "Time from a request's arrival to its response, by route group."),
    family(CAPTURED, C, Count, &["variant"], "Sampled exchanges handed to the data capture writer."),
    family(CAPTURE_DROPPED, C, Count, &["variant"], "Sampled exchanges dropped because the capture buffer was full (or capture was closing)."),
    family(CAPTURE_WRITE_ERRORS, C, Count, &["variant"], "Captured records that could not be written to their file."),
    family(SHADOW_REQUESTS, C, Count, &["shadow"], "Requests copied to the shadow model."),
    family(SHADOW_DROPPED, C, Count, &["shadow"], "Requests not copied to the shadow because too many copies were running."),
    family(SHADOW_COMPARED, C, Count, &["shadow"], "Instances whose shadow and production labels were both known and compared."),
    family(SHADOW_AGREEMENTS, C, Count, &["shadow"], "Compared instances where the shadow predicted the production label."),
    family(FEEDBACK_RECORDS, C, Count, &[], "Ground-truth records accepted by POST /feedback."),
    family(FEEDBACK_UNKNOWN, C, Count, &[], "Ground-truth records whose inference id no recently captured prediction had."),
    family(FEEDBACK_REPLACED, C, Count, &[], "Ground-truth records that replaced an earlier label set of their inference id."),
    family(RETRAININGS, C, Count, &["status"], "Retraining runs the drift monitor started, by how their execution ended."),
    family(CANARY_PROMOTIONS, C, Count, &["outcome"], "Canaries settled at their experiment's verdict (outcome: promoted or retired)."),
    family(DRIFT_VIOLATIONS, G, Count, VARIANT, "Constraint violations found by the last drift monitor run, per variant and model version judged."),
    family(DRIFT_RECORDS, G, Count, VARIANT, "Captured records in the last drift monitor run's window, per variant and model version judged."),
    family(DRIFT_PSI, G, Count, DRIFT_FEATURE, "Population stability index of the feature in the last drift monitor run."),
    family(DRIFT_JS, G, Count, DRIFT_FEATURE, "Jensen-Shannon distance of the feature in the last drift monitor run."),
    family(DRIFT_P_VALUE, G, Count, DRIFT_FEATURE, "Bonferroni-corrected p-value of the feature's drift test in the last run."),
    family(DRIFT_DETECTED, G, Count, DRIFT_FEATURE, "1 when the last drift monitor run found the feature drifted, else 0."),
];

/// Labels of the per-feature drift gauges (variant and model version empty when one
/// baseline judges all traffic).
const DRIFT_FEATURE: &[&str] = &["variant", "model_version", "feature"];

/// Route groups of `sentio_http_requests_total` (the front proxy's bounded `route` label).
pub const HTTP_ROUTES: &[&str] = &["ping", "invocations", "metrics", "admin", "v1", "other"];
/// Causes of `sentio_shed_requests_total`.
pub const SHED_REASONS: &[&str] = &["concurrency_limit", "queue_full"];

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process-wide Prometheus handle (metrics has one global recorder per process; every
/// server in the process shares it, distinguished by variant labels). Installing it
/// describes every family and registers the unlabelled ones.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), BATCH_BUCKETS))
            .expect("static bucket lists are non-empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only its own");
        }
        describe();
        register_process_wide();
        // The recorder keeps every histogram observation until an upkeep folds them into
        // the buckets; /metrics runs one, but nobody may scrape (a transform job, a server
        // without Prometheus): without this thread memory grows with every request.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("sentio-metrics".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread; histograms grow until /metrics is read");
        }
        handle
    })
}

/// The `# HELP` text and unit of every family.
fn describe() {
    for f in FAMILIES {
        match f.kind {
            Kind::Counter => metrics::describe_counter!(f.name, f.unit, f.help),
            Kind::Gauge => metrics::describe_gauge!(f.name, f.unit, f.help),
            Kind::Histogram => metrics::describe_histogram!(f.name, f.unit, f.help),
        }
    }
}

/// Registers, with zero, the families that do not belong to a variant or a feature.
fn register_process_wide() {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    metrics::gauge!(READY).set(0.0);
    for reason in SHED_REASONS {
        metrics::counter!(SHED, "reason" => *reason).absolute(0);
    }
    for route in HTTP_ROUTES {
        for status in ["2xx", "4xx", "5xx"] {
            metrics::counter!(HTTP_REQUESTS, "route" => *route, "status" => status).absolute(0);
        }
        let _ = metrics::histogram!(HTTP_DURATION, "route" => *route);
    }
    metrics::counter!(FEEDBACK_RECORDS).absolute(0);
    metrics::counter!(FEEDBACK_UNKNOWN).absolute(0);
    metrics::counter!(FEEDBACK_REPLACED).absolute(0);
}

/// How often histogram observations are folded into their buckets without a scrape.
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Renders the exposition text, refreshing the process metrics first.
pub fn render() -> String {
    let handle = prometheus();
    process_collector().collect();
    handle.run_upkeep();
    handle.render()
}

/// The process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …).
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let c = metrics_process::Collector::default();
        c.describe();
        c
    })
}

/// `sentio_model_info` of one deployment: counted up while it lives, down when the last
/// handle of it goes (after its in-flight requests drained).
struct Deployment(Gauge);

impl Drop for Deployment {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Pre-registered handles for one variant + model version.
#[derive(Clone)]
pub struct VariantMetrics {
    pub invocations: Counter,
    pub errors_4xx: Counter,
    pub errors_5xx: Counter,
    pub model_duration: Histogram,
    pub overhead_duration: Histogram,
    _deployment: Arc<Deployment>,
}

impl VariantMetrics {
    /// Registers every per-variant family with zero (the batcher's too, so a remote
    /// variant shows them as well) and marks the model version as served.
    pub fn new(variant: &str, version: &str) -> Self {
        let l = labels(variant, version);
        prometheus();
        let _ = BatcherMetrics::new(variant, version);
        let _ = metrics::gauge!(MODEL_LOAD, &l);
        for name in [CAPTURED, CAPTURE_DROPPED, CAPTURE_WRITE_ERRORS] {
            metrics::counter!(name, "variant" => variant.to_string()).increment(0);
        }
        let info = metrics::gauge!(MODEL_INFO, &l);
        info.increment(1.0);
        let m = VariantMetrics {
            invocations: metrics::counter!(INVOCATIONS, &l),
            errors_4xx: metrics::counter!(INVOCATION_4XX, &l),
            errors_5xx: metrics::counter!(INVOCATION_5XX, &l),
            model_duration: metrics::histogram!(MODEL_DURATION, &l),
            overhead_duration: metrics::histogram!(OVERHEAD_DURATION, &l),
            _deployment: Arc::new(Deployment(info)),
        };
        for c in [&m.invocations, &m.errors_4xx, &m.errors_5xx] {
            c.increment(0);
        }
        m
    }
}

/// Pre-registered handles for one batcher.
#[derive(Clone)]
pub struct BatcherMetrics {
    pub queue_duration: Histogram,
    pub inference_duration: Histogram,
    pub tokenization_duration: Histogram,
    pub batch_size: Histogram,
    pub queue_depth: Gauge,
    pub abandoned: Counter,
    pub instance_failures: Counter,
}

impl BatcherMetrics {
    pub fn new(variant: &str, version: &str) -> Self {
        let l = labels(variant, version);
        prometheus();
        let m = BatcherMetrics {
            queue_duration: metrics::histogram!(QUEUE_DURATION, &l),
            inference_duration: metrics::histogram!(INFERENCE_DURATION, &l),
            tokenization_duration: metrics::histogram!(TOKENIZATION_DURATION, &l),
            batch_size: metrics::histogram!(BATCH_SIZE, &l),
            queue_depth: metrics::gauge!(QUEUE_DEPTH, &l),
            abandoned: metrics::counter!(ABANDONED, &l),
            instance_failures: metrics::counter!(INSTANCE_FAILURES, &l),
        };
        m.queue_depth.increment(0.0);
        m.abandoned.increment(0);
        m.instance_failures.increment(0);
        m
    }
}

fn labels(variant: &str, version: &str) -> [(&'static str, String); 2] {
    [
        ("variant", variant.to_string()),
        ("model_version", version.to_string()),
    ]
}

pub fn record_model_load(variant: &str, version: &str, seconds: f64) {
    prometheus();
    metrics::gauge!(MODEL_LOAD, &labels(variant, version)).set(seconds);
}

pub fn record_shed(reason: &'static str) {
    prometheus();
    metrics::counter!(SHED, "reason" => reason).increment(1);
}

pub fn set_ready(ready: bool) {
    prometheus();
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

/// Registers a shadow's counters with zero.
pub fn register_shadow(name: &str) {
    prometheus();
    for c in [
        SHADOW_REQUESTS,
        SHADOW_DROPPED,
        SHADOW_COMPARED,
        SHADOW_AGREEMENTS,
    ] {
        metrics::counter!(c, "shadow" => name.to_string()).increment(0);
    }
}

/// Registers the drift monitor's families that exist before its first run (the
/// per-variant and per-feature gauges appear with the first run, which names them).
pub fn register_drift() {
    prometheus();
    for status in ["Succeeded", "Failed"] {
        metrics::counter!(RETRAININGS, "status" => status).increment(0);
    }
    for outcome in ["promoted", "retired"] {
        metrics::counter!(CANARY_PROMOTIONS, "outcome" => outcome).increment(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_prometheus_naming() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FAMILIES {
            assert!(seen.insert(f.name), "{} listed twice", f.name);
            assert!(f.name.starts_with("sentio_"), "{}", f.name);
            assert_eq!(
                f.kind == Kind::Counter,
                f.name.ends_with("_total"),
                "{}",
                f.name
            );
            assert_eq!(
                f.unit == Unit::Seconds,
                f.name.ends_with("_seconds"),
                "{}",
                f.name
            );
            assert!(!f.name.contains("latency"), "{}: say duration", f.name);
            assert!(f.help.len() > 10 && f.help.ends_with('.'), "{}", f.name);
            assert!(!f.labels.iter().any(|l| l.contains("id")), "{}", f.name);
        }
    }

    #[test]
    fn the_readme_lists_every_family() {
        let readme = include_str!("../../README.md");
        for f in FAMILIES {
            assert!(
                readme.contains(f.name),
                "README.md does not mention {}",
                f.name
            );
        }
    }
}
