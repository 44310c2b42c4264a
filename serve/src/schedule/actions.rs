//! What a drift violation sets off: a webhook, and retraining (through the [`Retrainer`]
//! trait the binary implements over the pipeline, so serving does not depend on it).
use monitoring::drift::MonitorRun;
use std::path::PathBuf;
use std::sync::Arc;

/// What a retraining run is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrainRequest {
    /// Why (the violations and their window, a count of new labels).
    pub reason: String,
    /// The model version whose lineage is rerun (the one whose traffic drifted, or the
    /// endpoint's most weighted variant's).
    pub model_version: String,
    /// The endpoint's capture folder and feedback folder: the labelled production data.
    pub capture_dir: Option<PathBuf>,
    pub feedback_dir: Option<PathBuf>,
}

/// What a retraining run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrained {
    /// The execution that ran, and how it ended.
    pub execution: String,
    pub status: String,
    /// The version it registered, if it passed the gate.
    pub model: Option<RetrainedModel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetrainedModel {
    pub version: String,
    /// How to deploy it (`registry:GROUP:sha256-…`).
    pub reference: String,
    pub approved: bool,
}

/// Runs retraining (the binary implements it over the pipeline).
pub trait Retrainer: Send + Sync + 'static {
    /// Runs retraining (blocking; called off the async executor).
    fn retrain(&self, request: &RetrainRequest) -> Result<Retrained, String>;
}

/// What a violation sets off.
#[derive(Clone)]
pub enum Action {
    /// POST `{"event", "records", "violations", "groups"}` to this `http://` URL.
    Webhook(String),
    /// Retrain (and, with a canary configuration, deploy the new version as a canary).
    Retrain(Arc<dyn Retrainer>),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Webhook(url) => f.debug_tuple("Webhook").field(url).finish(),
            Action::Retrain(_) => f.write_str("Retrain"),
        }
    }
}

/// Opens on the first run with violations, closes on the first completed run without: the
/// actions fire once per violation window, not on every run while it lasts.
#[derive(Debug, Default, Clone)]
pub struct ActionGate {
    open: bool,
}

impl ActionGate {
    pub fn should_fire(&mut self, r: &MonitorRun) -> bool {
        if !r.completed() {
            return false;
        }
        let violated = r.violations().next().is_some();
        let fire = violated && !self.open;
        self.open = violated;
        fire
    }
}

/// The one-line reason of a run's violations, naming the variant and model version of each
/// group that has some, and the window.
pub fn reason(r: &MonitorRun, window: Option<std::time::Duration>) -> String {
    let parts: Vec<String> = r
        .groups
        .iter()
        .filter(|g| !g.result.violations.is_empty())
        .map(|g| {
            let what: Vec<String> = g
                .result
                .violations
                .iter()
                .map(|v| format!("{} on {}", v.constraint_check_type, v.feature_name))
                .collect();
            match (&g.variant, &g.model_version) {
                (Some(v), Some(m)) => format!("variant {v} ({m}): {}", what.join(", ")),
                _ => what.join(", "),
            }
        })
        .collect();
    let window = window
        .map(|w| format!(" over the last {}", humantime::format_duration(w)))
        .unwrap_or_default();
    format!("drift{window}: {}", parts.join("; "))
}

/// POSTs the violations of a run to a webhook.
pub async fn webhook(url: &str, r: &MonitorRun) -> Result<(), String> {
    let groups: Vec<serde_json::Value> = r
        .groups
        .iter()
        .filter(|g| !g.result.violations.is_empty())
        .map(|g| {
            serde_json::json!({
                "variant": g.variant,
                "model_version": g.model_version,
                "records": g.result.records,
                "violations": g.result.violations,
                "features": g.result.features.iter().map(|f| serde_json::json!({
                    "name": f.name, "psi": f.psi, "js_distance": f.js_distance,
                    "p_value": f.p_value, "severity": f.severity,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "event": "drift_violation",
        "records": r.records(),
        "violations": r.violations().collect::<Vec<_>>(),
        "groups": groups,
    });
    crate::client::send_json(hyper::Method::POST, url, &body, None)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
