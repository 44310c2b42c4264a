//! The one invoke sequence of `/invocations` and `/v1/predict`: SageMaker's request headers,
//! routing, the model (a local batcher or a remote worker), the response's variant headers
//! and metrics, then the side paths that never delay or change the answer — data capture
//! and the shadow copy. The two routes differ only in how they read their request
//! ([`Invocation`]).
use super::App;
use crate::batcher::Batcher;
use crate::capture::Captured;
use crate::codec::{decode, encode, InputFormat, OutputFormat, ResponseMeta};
use crate::endpoint::routing::Route;
use crate::endpoint::Routed;
use crate::error::ServeError;
use crate::http::{header_str, headers, Answer, Resp};
use crate::shadow::ShadowJob;
use crate::variant::{validate_variant_name, Backend};
use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, StatusCode};
use std::time::{Duration, Instant};

const MAX_INFERENCE_ID: usize = 64;

/// A request as a route read it.
pub struct Invocation<'a> {
    /// The same route's path on a remote worker.
    pub path: &'static str,
    pub headers: &'a HeaderMap,
    /// The body (or why it could not be read: answered, and captured, as the variant's).
    pub body: Result<Bytes, ServeError>,
    /// The content type the body is captured with.
    pub content_type: String,
    /// How a local variant decodes the body and encodes the answer.
    pub formats: Result<(InputFormat, OutputFormat), ServeError>,
    /// One review sent as such is answered with one object (else always a list).
    pub allow_single: bool,
    /// A variant named in the body; it wins over the target header.
    pub body_target: Option<String>,
    pub started: Instant,
}

/// `X-Amzn-SageMaker-Target-Variant`, validated.
fn target_variant(h: &HeaderMap) -> Result<Option<String>, ServeError> {
    match header_str(h, headers::TARGET_VARIANT) {
        None => Ok(None),
        Some(name) => {
            validate_variant_name(name).map_err(ServeError::Malformed)?;
            Ok(Some(name.to_string()))
        }
    }
}

/// `X-Amzn-SageMaker-Inference-Id` (at most 64 characters), or a fresh UUID.
fn inference_id(h: &HeaderMap) -> Result<String, ServeError> {
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

pub async fn invoke(app: &App, inv: Invocation<'_>) -> Result<Resp, ServeError> {
    let header_target = target_variant(inv.headers)?;
    let id = inference_id(inv.headers)?;
    let session = app.routing.session(inv.headers);
    let target = inv.body_target.or(header_target);
    let routed = app.endpoint.route(Route {
        target: target.as_deref(),
        session: session.as_deref(),
    })?;
    let input = inv.body.as_ref().ok().cloned();
    let mut shadow = None;
    let (result, model_time) = match (&routed.deployed.backend, inv.body) {
        (_, Err(e)) => (Err(e), Duration::ZERO),
        (Backend::Remote(remote), Ok(body)) => {
            let mut fwd = inv.headers.clone();
            if let Ok(v) = HeaderValue::from_str(&id) {
                fwd.insert(headers::INFERENCE_ID, v);
            }
            let t = Instant::now();
            let r = remote.forward(inv.path, &fwd, body).await;
            (r.map(|a| named(a, &routed.variant)), t.elapsed())
        }
        (Backend::Local(batcher), Ok(body)) => {
            let decoded = inv
                .formats
                .and_then(|(i, o)| Ok((decode(i, &body, app.limits.max_instances)?, o)));
            match decoded {
                Ok((d, out)) => {
                    shadow = app
                        .shadow
                        .as_ref()
                        .and_then(|s| s.select(&routed.variant, &d.texts));
                    let single = d.single && inv.allow_single;
                    run_local(batcher, d.texts, single, out, &routed, &id).await
                }
                Err(e) => (Err(e), Duration::ZERO),
            }
        }
    };
    let custom = inv.headers.get(headers::CUSTOM_ATTRIBUTES).cloned();
    let answer = finish(app, &routed, result, inv.started, model_time, &id, custom);
    let observed = Observed {
        routed: &routed,
        inference_id: &id,
        content_type: inv.content_type,
        input,
        started: inv.started,
        session,
        shadow,
    };
    observe(app, observed, &answer);
    Ok(answer.into_response())
}

/// A worker's JSON answer names the worker's own variant; the caller's answer names the
/// variant that served it here, as its `X-Amzn-Invoked-Production-Variant` header does.
fn named(mut a: Answer, variant: &str) -> Answer {
    if !a.content_type().starts_with("application/json") {
        return a;
    }
    if let Ok(serde_json::Value::Object(mut o)) = serde_json::from_slice(&a.body) {
        if o.contains_key("variant") {
            o.insert("variant".into(), variant.into());
            if let Ok(b) = serde_json::to_vec(&o) {
                a.body = b.into();
            }
        }
    }
    a
}

/// Texts → encoded answer on a local variant. Returns the time spent in the model
/// (tokenization, queue and inference).
async fn run_local(
    batcher: &Batcher,
    texts: Vec<String>,
    single: bool,
    format: OutputFormat,
    routed: &Routed,
    inference_id: &str,
) -> (Result<Answer, ServeError>, Duration) {
    let t = Instant::now();
    let results = batcher.try_predict(texts).await;
    let model_time = t.elapsed();
    let answer = results.and_then(|results| {
        let meta = ResponseMeta {
            labels: &routed.deployed.labels,
            model_version: &routed.deployed.model_version,
            variant: &routed.variant,
            inference_id,
        };
        let body = encode(format, single, results, &meta)?;
        Ok(Answer::new(StatusCode::OK, format.content_type(), body))
    });
    (answer, model_time)
}

/// Adds the variant headers, records the variant's metrics and turns an error into its
/// answer (so errors after routing also name the variant).
fn finish(
    app: &App,
    routed: &Routed,
    result: Result<Answer, ServeError>,
    started: Instant,
    model_time: Duration,
    inference_id: &str,
    custom_attributes: Option<HeaderValue>,
) -> Answer {
    let m = &routed.deployed.metrics;
    let mut answer = result.unwrap_or_else(|e| {
        if e.status().is_server_error() {
            tracing::error!(error = %e, variant = %routed.variant, "invocation failed");
        }
        Answer::error(&e, app.limits.retry_after_secs)
    });
    m.invocations.increment(1);
    if answer.status.is_client_error() {
        m.errors_4xx.increment(1);
    } else if answer.status.is_server_error() {
        m.errors_5xx.increment(1);
    }
    let total = started.elapsed();
    m.model_duration.record(model_time.as_secs_f64());
    m.overhead_duration
        .record(total.saturating_sub(model_time).as_secs_f64());
    let h = &mut answer.headers;
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
    answer
}

/// What the side paths know about an answered request.
struct Observed<'a> {
    routed: &'a Routed,
    inference_id: &'a str,
    content_type: String,
    input: Option<Bytes>,
    started: Instant,
    session: Option<String>,
    shadow: Option<ShadowJob>,
}

/// Captures the exchange (if sampled) and starts the shadow copy (if any). Neither can
/// fail or delay the answer.
fn observe(app: &App, o: Observed<'_>, answer: &Answer) {
    let capture = app.capture.as_ref().filter(|c| c.sample());
    if capture.is_none() && o.shadow.is_none() {
        return;
    }
    let record = capture.map(|_| Captured {
        variant: o.routed.variant.clone(),
        model_version: o.routed.deployed.model_version.clone(),
        inference_id: Some(o.inference_id.to_string()),
        input_content_type: o.content_type,
        input: o.input.unwrap_or_default(),
        output_content_type: answer.content_type().to_string(),
        output: answer.body.clone(),
        status: answer.status.as_u16(),
        latency: o.started.elapsed(),
        shadow: false,
        session: o.session,
        time: chrono::Utc::now(),
    });
    if let (Some(job), Some(shadow)) = (o.shadow, &app.shadow) {
        let production = if answer.status.is_success() {
            let body = String::from_utf8_lossy(&answer.body);
            monitoring::payload::response_labels(answer.content_type(), &body)
        } else {
            Vec::new()
        };
        // The shadow's answer is captured with the request when the request is.
        let request = capture.cloned().zip(record.clone());
        let shadow = shadow.clone();
        tokio::spawn(async move {
            let out = shadow.run(job, &production).await;
            if let Some((c, request)) = request {
                c.submit(Captured {
                    variant: shadow.config.name.clone(),
                    model_version: out.model_version,
                    output_content_type: "application/json".into(),
                    output: out.body,
                    status: out.status,
                    latency: out.latency,
                    shadow: true,
                    time: chrono::Utc::now(),
                    ..request
                });
            }
        });
    }
    if let (Some(c), Some(record)) = (capture, record) {
        // Only POST /feedback reads the index.
        if let Some(f) = &app.feedback {
            f.index.insert(o.inference_id, &record.variant);
        }
        c.submit(record);
    }
}
