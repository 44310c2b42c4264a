//! Endpoints (operations): each endpoint's variants, weights and model versions from its
//! `/v1/models`, the live series from its `/metrics`, and — with the admin token — its
//! deployment history and capture settings from `/v1/admin`.
use super::VersionRef;
use crate::app::{blocking, App, KnownEndpoint};
use crate::error::Result;
use crate::live::Series;
use crate::redact::{hide_paths, redact_json};
use pipeline::store::ApprovalStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A variant as `/v1/models` describes it (the endpoint's OpenAPI `Variant`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariantView {
    pub name: String,
    pub weight: f64,
    pub share: f64,
    #[serde(default)]
    pub kind: String,
    /// A `registry:` reference as given; an artifact folder shown by its name only.
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub model_version: String,
    #[serde(default)]
    pub healthy: bool,
    #[serde(default)]
    pub deployed_at: String,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// The registry's name for the model version, when it is registered.
    #[serde(default)]
    pub registry: Option<VersionRef>,
}

#[derive(Debug, Clone, Deserialize)]
struct ModelsAnswer {
    #[serde(default)]
    status: String,
    #[serde(default)]
    variants: Vec<VariantView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    pub name: String,
    pub url: String,
    /// "home" (recorded by `sentio serve`) or "flag" (`--endpoint`).
    pub source: &'static str,
    pub stopped: bool,
    pub reachable: bool,
    pub status: Option<String>,
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub variants: Vec<VariantView>,
    pub requests_per_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointsView {
    pub endpoints: Vec<EndpointRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaptureView {
    pub configured: bool,
    pub sampling_percent: Option<f64>,
    pub capture_mode: Option<String>,
    pub counts: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    #[serde(flatten)]
    pub endpoint: EndpointRow,
    /// Whether the console could read the management API (admin token).
    pub management: bool,
    pub management_error: Option<String>,
    /// Deployment history (newest first, 30 at most).
    pub history: Vec<Value>,
    pub capture: Option<CaptureView>,
    /// Approved registry versions that can be deployed to a variant.
    pub deployable: Vec<VersionRef>,
    pub live: Series,
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveView {
    pub endpoint: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub series: Series,
}

fn shown_reference(r: &str) -> String {
    if r.starts_with("registry:") || r.starts_with("http://") {
        r.to_string()
    } else {
        hide_paths(r)
    }
}

/// An endpoint's row: its variants (with registry names) and request rate.
async fn row(app: &Arc<App>, e: KnownEndpoint) -> Result<EndpointRow> {
    let mut row = EndpointRow {
        name: e.name.clone(),
        url: e.url.clone(),
        source: e.source,
        stopped: e.stopped,
        reachable: false,
        status: None,
        error: None,
        started_at: e.started_at.clone(),
        variants: Vec::new(),
        requests_per_s: None,
    };
    if e.stopped {
        return Ok(row);
    }
    let answer = app
        .client
        .get_json(&e.name, &format!("{}/v1/models", e.url), None)
        .await;
    match answer.and_then(|v| {
        serde_json::from_value::<ModelsAnswer>(v).map_err(|err| {
            crate::error::ConsoleError::Endpoint {
                endpoint: e.name.clone(),
                message: format!("unexpected /v1/models answer: {err}"),
            }
        })
    }) {
        Ok(m) => {
            row.reachable = true;
            row.status = Some(m.status);
            row.variants = m.variants;
        }
        Err(err) => {
            row.error = Some(err.public_message());
            return Ok(row);
        }
    }
    if let Err(err) = app.sample(&e).await {
        tracing::debug!(error = %err, "no metrics sample");
    }
    row.requests_per_s = app.live.series(&e.name).total_requests_per_s;
    let versions: Vec<String> = row
        .variants
        .iter()
        .map(|v| v.model_version.clone())
        .collect();
    let refs = blocking(app, move |app| {
        Ok(versions
            .iter()
            .map(|v| {
                app.stores
                    .metadata
                    .version(v)
                    .ok()
                    .flatten()
                    .map(|m| VersionRef::new(&m))
            })
            .collect::<Vec<_>>())
    })
    .await?;
    for (v, r) in row.variants.iter_mut().zip(refs) {
        v.registry = r;
        v.reference = shown_reference(&v.reference);
    }
    Ok(row)
}

/// Rows of every known endpoint, fetched at once.
pub async fn rows(app: &Arc<App>) -> Result<Vec<EndpointRow>> {
    let known = blocking(app, |app| app.endpoints()).await?;
    let mut set = tokio::task::JoinSet::new();
    for (i, e) in known.into_iter().enumerate() {
        let app = app.clone();
        set.spawn(async move { (i, row(&app, e).await) });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        let (i, r) = done.map_err(|e| crate::error::ConsoleError::Internal(e.to_string()))?;
        out.push((i, r?));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

pub async fn list(app: &Arc<App>) -> Result<EndpointsView> {
    Ok(EndpointsView {
        endpoints: rows(app).await?,
    })
}

pub async fn detail(app: &Arc<App>, name: &str) -> Result<EndpointView> {
    let e = {
        let name = name.to_string();
        blocking(app, move |app| app.endpoint(&name)).await?
    };
    let endpoint = row(app, e.clone()).await?;
    let (mut management, mut management_error, mut history, mut capture) =
        (false, None, Vec::new(), None);
    if endpoint.reachable {
        match app.token() {
            None => management_error = Some("start the console with the admin token to see the deployment history and capture settings".to_string()),
            Some(token) => {
                let admin = |p: &str| format!("{}/v1/admin/{p}", e.url);
                match app.client.get_json(&e.name, &admin("endpoint"), Some(token)).await {
                    Ok(d) => {
                        management = true;
                        let mut h: Vec<Value> = d["history"].as_array().cloned().unwrap_or_default();
                        h.reverse();
                        h.truncate(30);
                        history = h.iter().map(redact_json).collect();
                    }
                    Err(err) => management_error = Some(err.public_message()),
                }
                if let Ok(c) = app.client.get_json(&e.name, &admin("capture"), Some(token)).await {
                    capture = Some(CaptureView {
                        configured: c["configured"].as_bool().unwrap_or(false),
                        sampling_percent: c["sampling_percent"].as_f64(),
                        capture_mode: c["capture_mode"].as_str().map(str::to_string),
                        counts: c["counts"].clone(),
                    });
                }
            }
        }
    }
    let deployable = blocking(app, |app| {
        let mut v: Vec<VersionRef> = app
            .stores
            .metadata
            .versions(None)?
            .iter()
            .filter(|v| v.status == ApprovalStatus::Approved)
            .map(VersionRef::new)
            .collect();
        v.reverse();
        v.truncate(50);
        Ok(v)
    })
    .await?;
    Ok(EndpointView {
        live: app.live.series(&e.name),
        endpoint,
        management,
        management_error,
        history,
        capture,
        deployable,
    })
}

/// The live series (reads `/metrics` if a sample is due).
pub async fn live(app: &Arc<App>, name: &str) -> Result<LiveView> {
    let e = {
        let name = name.to_string();
        blocking(app, move |app| app.endpoint(&name)).await?
    };
    let sampled = if e.stopped {
        Err(crate::error::ConsoleError::Endpoint {
            endpoint: e.name.clone(),
            message: "stopped".into(),
        })
    } else {
        app.sample(&e).await
    };
    Ok(LiveView {
        reachable: sampled.is_ok(),
        error: sampled.err().map(|e| e.public_message()),
        series: app.live.series(&e.name),
        endpoint: e.name,
    })
}
