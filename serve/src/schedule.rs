//! The in-process drift monitor: every interval it runs `monitoring::drift::run_once` over
//! the endpoint's capture window, sets the drift gauges, and — once per violation window —
//! fires the configured actions: a webhook (POST of the violations as JSON) and/or a
//! retraining run. Retraining reaches this crate as the [`Retrainer`] trait (the binary
//! implements it over the pipeline), so serving does not depend on the pipeline.
use crate::telemetry::{
    DRIFT_DETECTED, DRIFT_JS, DRIFT_PSI, DRIFT_P_VALUE, DRIFT_RECORDS, DRIFT_VIOLATIONS,
};
use monitoring::drift::{run_once, CheckResult, MonitorConfig, RunStatus};
use std::sync::Arc;
use std::time::Duration;

/// Starts retraining when the monitor finds violations.
pub trait Retrainer: Send + Sync + 'static {
    /// Starts a retraining run for `reason` (blocking; called off the async executor) and
    /// says what it started (e.g. the execution id).
    fn retrain(&self, reason: &str) -> Result<String, String>;
}

/// What a violation sets off.
#[derive(Clone)]
pub enum Action {
    /// POST `{"event", "records", "violations", "features"}` to this `http://` URL.
    Webhook(String),
    /// Start retraining.
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

/// The schedule (`sentio serve --monitor-interval-secs …`).
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub interval: Duration,
    pub job: MonitorConfig,
    pub actions: Vec<Action>,
}

/// Opens on the first run with violations, closes on the first completed run without: the
/// actions fire once per violation window, not on every run while it lasts.
#[derive(Debug, Default, Clone)]
pub struct ActionGate {
    open: bool,
}

impl ActionGate {
    pub fn should_fire(&mut self, r: &CheckResult) -> bool {
        if r.status != RunStatus::Completed {
            return false;
        }
        let violated = !r.violations.is_empty();
        let fire = violated && !self.open;
        self.open = violated;
        fire
    }
}

/// The one-line reason of a run's violations.
pub fn reason(r: &CheckResult) -> String {
    let parts: Vec<String> = r
        .violations
        .iter()
        .map(|v| format!("{} on {}", v.constraint_check_type, v.feature_name))
        .collect();
    format!("drift: {}", parts.join("; "))
}

impl Action {
    /// Fires the action for a run's violations.
    pub async fn fire(&self, r: &CheckResult) -> Result<(), String> {
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
                crate::client::send_json(hyper::Method::POST, url, &body, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Action::Retrain(retrainer) => {
                let (retrainer, reason) = (retrainer.clone(), reason(r));
                tracing::warn!(%reason, "drift violation: triggering retraining");
                let started = tokio::task::spawn_blocking(move || retrainer.retrain(&reason))
                    .await
                    .map_err(|e| format!("retraining: {e}"))??;
                tracing::info!(%started, "retraining started");
                Ok(())
            }
        }
    }
}

/// Sets the drift gauges from a run.
fn gauges(r: &CheckResult) {
    metrics::gauge!(DRIFT_VIOLATIONS).set(r.violations.len() as f64);
    metrics::gauge!(DRIFT_RECORDS).set(r.records as f64);
    for f in &r.features {
        metrics::gauge!(DRIFT_PSI, "feature" => f.name.clone()).set(f.psi);
        metrics::gauge!(DRIFT_JS, "feature" => f.name.clone()).set(f.js_distance);
        metrics::gauge!(DRIFT_P_VALUE, "feature" => f.name.clone()).set(f.p_value);
        metrics::gauge!(DRIFT_DETECTED, "feature" => f.name.clone())
            .set(f64::from(u8::from(f.drift)));
    }
}

/// A schedule's state: the job, its actions and the once-per-window gate.
pub struct Monitor {
    pub config: ScheduleConfig,
    gate: ActionGate,
}

impl Monitor {
    pub fn new(config: ScheduleConfig) -> Self {
        Monitor {
            config,
            gate: ActionGate::default(),
        }
    }

    /// One scheduled run: check, set the gauges, then fire the actions if a violation
    /// window opened. An action that fails is logged; the others still fire.
    pub async fn tick(&mut self) -> Result<CheckResult, String> {
        let job = self.config.job.clone();
        let result = tokio::task::spawn_blocking(move || run_once(&job))
            .await
            .map_err(|e| format!("monitor run: {e}"))?
            .map_err(|e| e.to_string())?;
        gauges(&result);
        if self.gate.should_fire(&result) {
            for a in &self.config.actions {
                if let Err(e) = a.fire(&result).await {
                    tracing::warn!(error = %e, action = ?a, "drift action failed");
                }
            }
        }
        Ok(result)
    }
}

/// Starts the schedule; the task runs until aborted.
pub fn spawn(config: ScheduleConfig) -> tokio::task::JoinHandle<()> {
    crate::telemetry::register_drift();
    tokio::spawn(async move {
        let mut monitor = Monitor::new(config);
        let mut every = tokio::time::interval(monitor.config.interval);
        every.tick().await;
        loop {
            every.tick().await;
            match monitor.tick().await {
                Ok(r) => tracing::info!(
                    records = r.records,
                    violations = r.violations.len(),
                    status = %r.status,
                    "drift monitor ran"
                ),
                Err(e) => tracing::warn!(error = %e, "drift monitor failed"),
            }
        }
    })
}
