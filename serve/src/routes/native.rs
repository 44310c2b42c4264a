//! The native API: `GET /v1/models` and `POST /v1/predict` (see `serve/openapi.yaml`).
//! `/v1/predict` takes `{"texts": [...]}` or `{"text": "..."}` and an optional `variant`,
//! and always answers with a `predictions` list (see `invoke` for the sequence).
use super::invoke::{invoke, Invocation};
use super::App;
use crate::codec::{output_format, InputFormat, OutputFormat};
use crate::error::ServeError;
use crate::http::{header_str, json_response, read_body, Req, Resp};
use hyper::header::ACCEPT;
use hyper::StatusCode;
use std::time::Instant;

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
    let format = output_format(header_str(req.headers(), ACCEPT.as_str()))?;
    if format != OutputFormat::Json {
        return Err(ServeError::NotAcceptable(
            "/v1/predict answers application/json".into(),
        ));
    }
    let (parts, body) = read_body(req, app.limits.max_body_bytes)
        .await
        .map_err(|(_, e)| e)?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ServeError::Malformed(format!("invalid JSON: {e}")))?;
    let body_target = match value.get("variant") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ServeError::Malformed("\"variant\" must be a string".into())),
    };
    invoke(
        app,
        Invocation {
            path: "/v1/predict",
            headers: &parts.headers,
            body: Ok(body),
            content_type: "application/json".into(),
            formats: Ok((InputFormat::Json, OutputFormat::Json)),
            allow_single: false,
            body_target,
            started,
        },
    )
    .await
}
