//! What `/invocations` and `/v1/predict` share: the SageMaker request headers, running
//! texts on a local variant, and finishing a response (variant headers + metrics).
use super::App;
use crate::batcher::Batcher;
use crate::codec::{encode, OutputFormat, ResponseMeta};
use crate::config::validate_variant_name;
use crate::endpoint::Routed;
use crate::error::ServeError;
use crate::http::{bytes_response, header_str, headers, Resp};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, StatusCode};
use std::time::{Duration, Instant};

const MAX_INFERENCE_ID: usize = 64;

/// `X-Amzn-SageMaker-Target-Variant`, validated.
pub fn target_variant(h: &HeaderMap) -> Result<Option<String>, ServeError> {
    match header_str(h, headers::TARGET_VARIANT) {
        None => Ok(None),
        Some(name) => {
            validate_variant_name(name).map_err(ServeError::Malformed)?;
            Ok(Some(name.to_string()))
        }
    }
}

/// `X-Amzn-SageMaker-Inference-Id` (at most 64 characters), or a fresh UUID.
pub fn inference_id(h: &HeaderMap) -> Result<String, ServeError> {
    match h.get(headers::INFERENCE_ID) {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(v) => {
            let s = v.to_str().map_err(|_| {
                ServeError::Malformed("the inference id must be visible ASCII".into())
            })?;
            if s.is_empty() || s.len() > MAX_INFERENCE_ID {
                return Err(ServeError::Malformed(format!(
                    "the inference id must have 1 to {MAX_INFERENCE_ID} characters"
                )));
            }
            Ok(s.to_string())
        }
    }
}

/// Texts → encoded response body on a local variant. Returns the time spent in the model
/// (tokenization, queue and inference).
pub async fn run_local(
    batcher: &Batcher,
    texts: Vec<String>,
    single: bool,
    format: OutputFormat,
    routed: &Routed,
    inference_id: &str,
) -> (Result<Resp, ServeError>, Duration) {
    let t = Instant::now();
    let results = batcher.try_predict(texts).await;
    let model_time = t.elapsed();
    let resp = results.and_then(|results| {
        let meta = ResponseMeta {
            labels: &routed.deployed.labels,
            model_version: &routed.deployed.model_version,
            variant: &routed.variant,
            inference_id,
        };
        let body = encode(format, single, results, &meta)?;
        Ok(bytes_response(StatusCode::OK, format.content_type(), body))
    });
    (resp, model_time)
}

/// Adds the variant headers, records the variant's metrics and turns an error into its
/// response (so errors after routing also name the variant).
pub fn finish(
    app: &App,
    routed: &Routed,
    result: Result<Resp, ServeError>,
    started: Instant,
    model_time: Duration,
    inference_id: &str,
    custom_attributes: Option<HeaderValue>,
) -> Resp {
    let m = &routed.deployed.metrics;
    let mut resp = result.unwrap_or_else(|e| {
        if e.status().is_server_error() {
            tracing::error!(error = %e, variant = %routed.variant, "invocation failed");
        }
        e.into_response(app.limits.retry_after_secs)
    });
    let status = resp.status();
    m.invocations.increment(1);
    if status.is_client_error() {
        m.errors_4xx.increment(1);
    } else if status.is_server_error() {
        m.errors_5xx.increment(1);
    }
    let total = started.elapsed();
    m.model_latency.record(model_time.as_secs_f64());
    m.overhead_latency
        .record(total.saturating_sub(model_time).as_secs_f64());
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&routed.variant) {
        h.insert(headers::INVOKED_VARIANT, v);
    }
    if !h.contains_key(headers::MODEL_VERSION) {
        if let Ok(v) = HeaderValue::from_str(&routed.deployed.model_version) {
            h.insert(headers::MODEL_VERSION, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(inference_id) {
        h.insert(headers::INFERENCE_ID, v);
    }
    if let Some(v) = custom_attributes {
        h.insert(headers::CUSTOM_ATTRIBUTES, v);
    }
    resp
}
