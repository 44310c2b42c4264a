//! The native API: `GET /v1/models` and `POST /v1/predict` (see `serve/openapi.yaml`).
//! `/v1/predict` takes `{"texts": [...]}` or `{"text": "..."}` and an optional `variant`,
//! and always answers with a `predictions` list.
use super::predict::{finish, inference_id, run_local, target_variant};
use super::App;
use crate::codec::{decode, output_format, InputFormat, OutputFormat};
use crate::error::ServeError;
use crate::http::{header_str, headers, json_response, read_body, Req, Resp};
use crate::variant::Backend;
use hyper::header::{HeaderValue, ACCEPT};
use hyper::StatusCode;
use std::time::{Duration, Instant};

pub fn models(app: &App) -> Resp {
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "endpoint": app.endpoint.name,
            "status": format!("{:?}", app.endpoint.phase()).to_lowercase(),
            "variants": app.endpoint.describe(),
        }),
    )
}

pub async fn predict(app: &App, req: Req) -> Result<Resp, ServeError> {
    let started = Instant::now();
    let header_target = target_variant(req.headers())?;
    let id = inference_id(req.headers())?;
    let format = output_format(header_str(req.headers(), ACCEPT.as_str()))?;
    if format != OutputFormat::Json {
        return Err(ServeError::NotAcceptable(
            "/v1/predict answers application/json".into(),
        ));
    }
    let (parts, body) = read_body(req, app.limits.max_body_bytes).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ServeError::Malformed(format!("invalid JSON: {e}")))?;
    let body_target = match value.get("variant") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ServeError::Malformed("\"variant\" must be a string".into())),
    };
    let session = app.observe.session(&parts.headers);
    let target = body_target.or(header_target);
    let routed = app
        .observe
        .route(&app.endpoint, target.as_deref(), session.as_deref())?;
    let mut shadow = None;
    let input = body.clone();
    let (result, model_time) = match &routed.deployed.backend {
        Backend::Remote(remote) => {
            let mut fwd = parts.headers;
            if let Ok(v) = HeaderValue::from_str(&id) {
                fwd.insert(headers::INFERENCE_ID, v);
            }
            let t = Instant::now();
            let r = remote.forward("/v1/predict", &fwd, body).await;
            (r, t.elapsed())
        }
        Backend::Local(batcher) => match decode(InputFormat::Json, &body, app.limits.max_instances)
        {
            Ok(d) => {
                shadow = app.observe.shadow_job(&routed, &d.texts);
                run_local(batcher, d.texts, false, OutputFormat::Json, &routed, &id).await
            }
            Err(e) => (Err(e), Duration::ZERO),
        },
    };
    let resp = finish(app, &routed, result, started, model_time, &id, None);
    let observed = crate::observe::Observed {
        routed: &routed,
        inference_id: &id,
        input_content_type: "application/json",
        input: Some(input),
        started,
        session,
        shadow,
    };
    Ok(app.observe.after(observed, resp).await)
}
