//! Metric names, buckets and the Prometheus recorder: all in one place. Every name of ours
//! has the `sentio_` prefix and its unit; labels are bounded (variant, model version,
//! status class, cause, feature), never a request or inference id. Process metrics use the
//! standard `process_*` names (metrics-process), as dashboards expect.
use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const INVOCATIONS: &str = "sentio_invocations_total";
pub const INVOCATION_4XX: &str = "sentio_invocation_4xx_errors_total";
pub const INVOCATION_5XX: &str = "sentio_invocation_5xx_errors_total";
pub const MODEL_LATENCY: &str = "sentio_model_latency_seconds";
pub const OVERHEAD_LATENCY: &str = "sentio_overhead_latency_seconds";
pub const QUEUE_DURATION: &str = "sentio_queue_duration_seconds";
pub const INFERENCE_DURATION: &str = "sentio_inference_duration_seconds";
pub const TOKENIZATION_DURATION: &str = "sentio_tokenization_duration_seconds";
pub const BATCH_SIZE: &str = "sentio_batch_size";
pub const QUEUE_DEPTH: &str = "sentio_queue_depth";
pub const DROPPED: &str = "sentio_dropped_requests_total";
pub const ITEM_FAILURES: &str = "sentio_item_failures_total";
pub const SHED: &str = "sentio_shed_requests_total";
pub const MODEL_LOAD: &str = "sentio_model_load_duration_seconds";
pub const HTTP_REQUESTS: &str = "sentio_http_requests_total";
pub const HTTP_DURATION: &str = "sentio_http_request_duration_seconds";
pub const READY: &str = "sentio_ready";
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

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process-wide Prometheus handle (metrics has one global recorder per process; every
/// server in the process shares it, distinguished by variant labels).
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

/// Pre-registered handles for one variant + model version.
#[derive(Clone)]
pub struct VariantMetrics {
    pub invocations: Counter,
    pub errors_4xx: Counter,
    pub errors_5xx: Counter,
    pub model_latency: Histogram,
    pub overhead_latency: Histogram,
}

impl VariantMetrics {
    pub fn new(variant: &str, version: &str) -> Self {
        let l = labels(variant, version);
        prometheus();
        VariantMetrics {
            invocations: metrics::counter!(INVOCATIONS, &l),
            errors_4xx: metrics::counter!(INVOCATION_4XX, &l),
            errors_5xx: metrics::counter!(INVOCATION_5XX, &l),
            model_latency: metrics::histogram!(MODEL_LATENCY, &l),
            overhead_latency: metrics::histogram!(OVERHEAD_LATENCY, &l),
        }
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
    pub dropped: Counter,
    pub item_failures: Counter,
}

impl BatcherMetrics {
    pub fn new(variant: &str, version: &str) -> Self {
        let l = labels(variant, version);
        prometheus();
        BatcherMetrics {
            queue_duration: metrics::histogram!(QUEUE_DURATION, &l),
            inference_duration: metrics::histogram!(INFERENCE_DURATION, &l),
            tokenization_duration: metrics::histogram!(TOKENIZATION_DURATION, &l),
            batch_size: metrics::histogram!(BATCH_SIZE, &l),
            queue_depth: metrics::gauge!(QUEUE_DEPTH, &l),
            dropped: metrics::counter!(DROPPED, &l),
            item_failures: metrics::counter!(ITEM_FAILURES, &l),
        }
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
    metrics::counter!(SHED, "reason" => reason).increment(1);
}

pub fn set_ready(ready: bool) {
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}
