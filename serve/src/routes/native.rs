//! The native API: `GET /v1/models` and `POST /v1/predict` (see `serve/openapi.yaml`).
//! `/v1/predict` takes `{"texts": [...]}` or `{"text": "..."}` and an optional `variant`,
//! and always answers with a `predictions` list (see `invoke` for the sequence).
use super::invoke::{invoke, Invocation};
use super::App;
use crate::codec::{output_format, InputFormat, OutputFormat};
use crate::error::ServeError;
use crate::http::{header_str, json_response, read_body, Req, Resp};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::StatusCode;
use monitoring::payload::media_type;
use std::time::Instant;

/// The endpoint as anyone may see it: `reference` names no file path or worker address
/// (the management API's `GET /v1/admin/endpoint` shows them, behind the token).
pub fn models(app: &App) -> Resp {
    let variants: Vec<serde_json::Value> = app
        .endpoint
        .describe()
        .into_iter()
        .map(|v| {
            let public = public_reference(&v.deployed.reference, v.deployed.kind);
            let mut value = serde_json::to_value(&v).unwrap_or_default();
            value["reference"] = public.into();
            value
        })
        .collect();
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "endpoint": app.endpoint.name,
            "status": format!("{:?}", app.endpoint.phase()).to_lowercase(),
            "variants": variants,
        }),
    )
}

/// A registry reference as it is; a file path or a worker's URL replaced by what it is.
fn public_reference(reference: &str, kind: &str) -> String {
    let is_registry = reference.starts_with("registry:");
    if kind == "remote" {
        "remote worker".into()
    } else if is_registry {
        reference.to_string()
    } else {
        "local artifact".into()
    }
}

pub async fn predict(app: &App, req: Req) -> Result<Resp, ServeError> {
    let started = Instant::now();
    if let Some(ct) = header_str(req.headers(), CONTENT_TYPE.as_str()) {
        if !matches!(media_type(ct).as_str(), "application/json" | "") {
            // /v1/predict reads JSON only; the other formats go to /invocations.
            return Err(ServeError::UnsupportedMediaType(ct.to_string()));
        }
    }
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
