//! The management API under `/v1/admin`, behind `Authorization: Bearer <token>` (checked
//! by the router before routing). With no token configured (or in worker mode) it does
//! not exist: 404.
//!
//! | route | does |
//! |---|---|
//! | `GET /v1/admin/endpoint` | describe: variants, weights, shares, versions, history |
//! | `PUT /v1/admin/weights` | `{"weights": {"A": 1, "B": 3}}` |
//! | `POST /v1/admin/variants` | `{"name", "model" \| "upstream", "weight"?, "force"?}` |
//! | `DELETE /v1/admin/variants/{name}` | remove a variant |
//! | `POST /v1/admin/variants/{name}/deploy` | `{"model" \| "upstream", "force"?}`: atomic swap |
//! | `GET /v1/admin/capture` | data capture: destination, sampling percentage, counts |
//! | `PUT /v1/admin/capture` | `{"sampling_percent": 0–100}`, live (0 pauses capture) |
use super::App;
use crate::error::ServeError;
use crate::http::{body_bytes, header_str, json_response, Req, Resp};
use crate::variant::VariantSource;
use hyper::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

pub async fn update_weights(app: &App, req: Req) -> Result<Resp, ServeError> {
    let body: WeightsBody = json_body(app, req).await?;
    let variants = app.endpoint.update_weights(&body.weights).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "variants": variants }),
    ))
}

pub async fn add_variant(app: &App, req: Req) -> Result<Resp, ServeError> {
    let body: AddBody = json_body(app, req).await?;
    let source = body.source().to_source()?;
    let v = app
        .endpoint
        .add_variant(&body.name, &source, body.weight.unwrap_or(1.0), body.force)
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::to_value(v).unwrap_or_default(),
    ))
}

pub async fn remove_variant(app: &App, name: &str) -> Result<Resp, ServeError> {
    app.endpoint.remove_variant(name).await?;
    Ok(json_response(StatusCode::OK, &json!({ "removed": name })))
}

pub async fn deploy(app: &App, name: &str, req: Req) -> Result<Resp, ServeError> {
    let body: SourceBody = json_body(app, req).await?;
    let source = body.to_source()?;
    let v = app.endpoint.deploy(name, &source, body.force).await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(v).unwrap_or_default(),
    ))
}

pub fn capture(app: &App) -> Resp {
    json_response(StatusCode::OK, &capture_json(app))
}

pub async fn update_capture(app: &App, req: Req) -> Result<Resp, ServeError> {
    let body: CaptureBody = json_body(app, req).await?;
    let Some(c) = &app.capture else {
        return Err(ServeError::Conflict(
            "data capture is not configured on this endpoint (start it with --capture-dir)".into(),
        ));
    };
    let before = c
        .set_sampling_percent(body.sampling_percent)
        .map_err(ServeError::Invalid)?;
    tracing::info!(
        before,
        after = body.sampling_percent,
        "capture sampling percentage changed"
    );
    Ok(json_response(StatusCode::OK, &capture_json(app)))
}

fn capture_json(app: &App) -> serde_json::Value {
    match &app.capture {
        None => json!({ "configured": false }),
        Some(c) => json!({
            "configured": true,
            "destination": c.config().dir.join(&app.endpoint.name).display().to_string(),
            "sampling_percent": c.sampling_percent(),
            "buffer": c.config().buffer,
            "capture_mode": c.config().format.mode,
            "content_types": c.config().format.text_types,
            "counts": c.counts(),
        }),
    }
}

pub(super) fn authorize(app: &App, h: &hyper::HeaderMap) -> Result<(), ServeError> {
    let Some(token) = app.admin_token.as_ref().filter(|_| !app.worker) else {
        return Err(ServeError::NotFound(
            "the management API is disabled (no token configured)".into(),
        ));
    };
    check_bearer(h, &[Some(token)])
}

/// `Authorization: Bearer <token>` with one of `tokens` (compared in constant time): 401
/// without a bearer token, 403 with another one.
pub(super) fn check_bearer(
    h: &hyper::HeaderMap,
    tokens: &[Option<&secrecy::SecretString>],
) -> Result<(), ServeError> {
    let given = header_str(h, "authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or(ServeError::Unauthorized)?;
    let matches = tokens
        .iter()
        .flatten()
        .any(|t| bool::from(t.expose_secret().as_bytes().ct_eq(given.trim().as_bytes())));
    if matches {
        Ok(())
    } else {
        Err(ServeError::Forbidden)
    }
}

pub fn describe(app: &App) -> Resp {
    json_response(
        StatusCode::OK,
        &json!({
            "endpoint": app.endpoint.name,
            "status": format!("{:?}", app.endpoint.phase()).to_lowercase(),
            "variants": app.endpoint.describe(),
            "history": app.endpoint.history(),
        }),
    )
}

async fn json_body<T: serde::de::DeserializeOwned>(app: &App, req: Req) -> Result<T, ServeError> {
    let body = body_bytes(req, app.limits.max_body_bytes).await?;
    serde_json::from_slice(&body).map_err(|e| ServeError::Malformed(format!("invalid body: {e}")))
}

// Unknown fields are refused (400), as the OpenAPI schemas say: a misspelt "wieght" must
// not be silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    sampling_percent: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsBody {
    weights: HashMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    model: Option<String>,
    upstream: Option<String>,
    #[serde(default)]
    force: bool,
}

impl SourceBody {
    fn to_source(&self) -> Result<VariantSource, ServeError> {
        match (&self.model, &self.upstream) {
            (Some(m), None) => Ok(VariantSource::Model(m.clone())),
            (None, Some(u)) => Ok(VariantSource::Upstream(u.clone())),
            _ => Err(ServeError::Invalid(
                "give exactly one of \"model\" and \"upstream\"".into(),
            )),
        }
    }
}

/// `SourceBody` plus a name and weight (not flattened: serde cannot refuse unknown fields
/// through `flatten`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    name: String,
    weight: Option<f64>,
    model: Option<String>,
    upstream: Option<String>,
    #[serde(default)]
    force: bool,
}

impl AddBody {
    fn source(&self) -> SourceBody {
        SourceBody {
            model: self.model.clone(),
            upstream: self.upstream.clone(),
            force: self.force,
        }
    }
}
