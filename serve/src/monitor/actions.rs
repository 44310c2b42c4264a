//! What a drift violation sets off: a webhook (POST of the violations as JSON) and/or the
//! retraining pipeline (`pipeline::retrain`). [`ActionGate`] fires once per violation
//! window: when a run finds violations after one that found none, not on every run while
//! they last.
use super::{CheckResult, MonitorError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Action {
    /// POST `{"endpoint", "violations", "features"}` to this `http://` URL.
    Webhook(String),
    /// Run the retraining pipeline in this SENTIO_HOME.
    Retrain {
        home: std::path::PathBuf,
        source: pipeline::PipelineSource,
    },
}

/// Opens on the first run with violations, closes on the first completed run without.
#[derive(Debug, Default, Clone)]
pub struct ActionGate {
    open: bool,
}

impl ActionGate {
    pub fn should_fire(&mut self, r: &CheckResult) -> bool {
        if r.status != "completed" {
            return false;
        }
        let violated = !r.violations.is_empty();
        let fire = violated && !self.open;
        self.open = violated;
        fire
    }
}

impl Action {
    pub async fn fire(&self, r: &CheckResult) -> Result<(), MonitorError> {
        let reason = r
            .violations
            .iter()
            .map(|v| format!("{} on {}", v.constraint_check_type, v.feature_name))
            .collect::<Vec<_>>()
            .join("; ");
        match self {
            Action::Webhook(url) => {
                let body = serde_json::json!({
                    "event": "drift_violation",
                    "records": r.records,
                    "violations": r.violations,
                    "features": r.features.iter().map(|f| serde_json::json!({
                        "name": f.name, "psi": f.psi, "js_distance": f.js_distance,
                        "p_value": f.p_value, "severity": f.severity,
                    })).collect::<Vec<_>>(),
                });
                post_json(url, &body).await.map(|_| ())
            }
            Action::Retrain { home, source } => {
                let (home, source) = (home.clone(), source.clone());
                let reason = format!("drift: {reason}");
                tracing::warn!(%reason, "drift violation: triggering retraining");
                tokio::task::spawn_blocking(move || {
                    pipeline::retrain(&pipeline::Home::new(home), &reason, &source)
                })
                .await
                .map_err(|e| MonitorError::Action(e.to_string()))?
                .map(|_| ())
                .map_err(|e| MonitorError::Action(e.to_string()))
            }
        }
    }
}

/// POSTs (or, with `method`, PUTs) JSON to an `http://` URL; returns the status and body.
pub async fn post_json(url: &str, body: &serde_json::Value) -> Result<(u16, Bytes), MonitorError> {
    send_json(hyper::Method::POST, url, body, None).await
}

/// Sends JSON with a bearer token (the management API).
pub async fn send_json_bearer(
    method: hyper::Method,
    url: &str,
    body: &serde_json::Value,
    token: &str,
) -> Result<(u16, Bytes), MonitorError> {
    send_json(method, url, body, Some(token)).await
}

async fn send_json(
    method: hyper::Method,
    url: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> Result<(u16, Bytes), MonitorError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(t) = bearer {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))
        .map_err(|e| MonitorError::Action(format!("{url}: {e}")))?;
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .map_err(|_| MonitorError::Action(format!("{url}: timed out")))?
        .map_err(|e| MonitorError::Action(format!("{url}: {e}")))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| MonitorError::Action(e.to_string()))?
        .to_bytes();
    if !(200..300).contains(&status) {
        return Err(MonitorError::Action(format!("{url} answered {status}")));
    }
    Ok((status, bytes))
}
