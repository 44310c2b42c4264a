//! The in-process monitor of an endpoint: every interval it runs
//! `monitoring::drift::run_once` over the capture window (each variant and model version
//! against its own baseline, or one baseline for everything), sets the drift gauges, and —
//! once per violation window — fires the actions: a webhook and/or retraining. Retraining
//! can also start after a number of new ground-truth labels. An approved retrained version
//! can be tried as a canary with an A/B experiment that is settled at its verdict
//! ([`canary`]).
mod actions;
pub mod canary;

pub use actions::{
    reason, webhook, Action, ActionGate, RetrainRequest, Retrained, RetrainedModel, Retrainer,
};
pub use canary::{Canary, CanaryConfig, Settled};

use crate::http::BoxFuture;
use crate::telemetry::{
    CANARY_PROMOTIONS, DRIFT_DETECTED, DRIFT_JS, DRIFT_PSI, DRIFT_P_VALUE, DRIFT_RECORDS,
    DRIFT_VIOLATIONS, RETRAININGS,
};
use monitoring::drift::{run_once, Baselines, MonitorConfig, MonitorRun};
use monitoring::experiment::{Experiment, ExperimentReport, ReportOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The schedule (`sentio serve --monitor-interval-secs …`).
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub interval: Duration,
    pub job: MonitorConfig,
    pub actions: Vec<Action>,
    /// Retrain once this many new ground-truth labels have come in (with a retraining
    /// action).
    pub retrain_after_labels: Option<u64>,
    /// Try an approved retrained version as a canary.
    pub canary: Option<CanaryConfig>,
}

/// What the schedule needs of the endpoint it runs in (the server implements it).
pub trait Served: Send + Sync + 'static {
    fn endpoint_name(&self) -> String;
    /// `(name, weight, model version)` of each variant.
    fn variants(&self) -> Vec<(String, f64, String)>;
    /// The artifact directory of a model version this endpoint serves or served.
    fn model_dir(&self, version: &str) -> Option<PathBuf>;
    fn add_variant(
        &self,
        name: String,
        model: String,
        weight: f64,
    ) -> BoxFuture<Result<(), String>>;
    fn deploy(&self, name: String, model: String) -> BoxFuture<Result<(), String>>;
    fn remove_variant(&self, name: String) -> BoxFuture<Result<(), String>>;
    fn set_weights(&self, weights: HashMap<String, f64>) -> BoxFuture<Result<(), String>>;
    /// Records a step of a canary (`canary`, `promote`, `retire`) in the history.
    fn record(&self, variant: &str, action: &str, reference: Option<&str>);
    /// Ground-truth labels received since start.
    fn labels_received(&self) -> u64;
    fn capture_dir(&self) -> Option<PathBuf>;
    fn feedback_dir(&self) -> Option<PathBuf>;
    fn experiment_exists(&self, id: &str) -> bool;
    fn save_experiment(&self, e: &Experiment) -> Result<(), String>;
    /// An experiment's report now (blocking).
    fn experiment_report(&self, id: &str, opts: &ReportOptions)
        -> Result<ExperimentReport, String>;
}

/// Sets the drift gauges from a run, per variant and model version.
fn gauges(run: &MonitorRun) {
    for g in &run.groups {
        let r = &g.result;
        let variant = g.variant.clone().unwrap_or_default();
        let version = g.model_version.clone().unwrap_or_default();
        let l = [("variant", variant), ("model_version", version)];
        metrics::gauge!(DRIFT_VIOLATIONS, &l).set(r.violations.len() as f64);
        metrics::gauge!(DRIFT_RECORDS, &l).set(r.records as f64);
        for f in &r.features {
            let lf = [l[0].clone(), l[1].clone(), ("feature", f.name.clone())];
            metrics::gauge!(DRIFT_PSI, &lf).set(f.psi);
            metrics::gauge!(DRIFT_JS, &lf).set(f.js_distance);
            metrics::gauge!(DRIFT_P_VALUE, &lf).set(f.p_value);
            metrics::gauge!(DRIFT_DETECTED, &lf).set(f64::from(u8::from(f.drift)));
        }
    }
}

/// A schedule's state: the job, its actions, the once-per-window gate, the labels counted
/// at the last retraining and the canaries being tried.
pub struct Monitor {
    pub config: ScheduleConfig,
    gate: ActionGate,
    served: Option<Arc<dyn Served>>,
    labels_at_retrain: u64,
    canaries: Vec<Canary>,
}

impl Monitor {
    /// A schedule on its own (its actions are a webhook or retraining without a canary).
    pub fn new(config: ScheduleConfig) -> Self {
        crate::telemetry::register_drift();
        Monitor {
            config,
            gate: ActionGate::default(),
            served: None,
            labels_at_retrain: 0,
            canaries: Vec::new(),
        }
    }

    /// A schedule running in an endpoint: per-version baselines include the models it
    /// serves, and canaries can be deployed.
    pub fn in_endpoint(mut config: ScheduleConfig, served: Arc<dyn Served>) -> Self {
        if let Baselines::PerVersion(registry) = &config.job.baselines {
            let (registry, s) = (registry.clone(), served.clone());
            config.job.baselines = Baselines::PerVersion(Arc::new(move |v: &str| {
                s.model_dir(v).or_else(|| registry.model_dir(v))
            }));
        }
        Monitor {
            labels_at_retrain: served.labels_received(),
            served: Some(served),
            ..Monitor::new(config)
        }
    }

    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    /// One scheduled run: check, set the gauges, fire the actions if a violation window
    /// opened (or retrain if enough new labels came in), then settle canaries that have a
    /// verdict. An action that fails is logged; the others still fire.
    pub async fn tick(&mut self) -> Result<MonitorRun, String> {
        let job = self.config.job.clone();
        let result = tokio::task::spawn_blocking(move || run_once(&job))
            .await
            .map_err(|e| format!("monitor run: {e}"))?
            .map_err(|e| e.to_string())?;
        gauges(&result);
        if self.gate.should_fire(&result) {
            let why = reason(&result, self.config.job.window);
            let drifted = result
                .groups
                .iter()
                .find(|g| !g.result.violations.is_empty())
                .and_then(|g| g.model_version.clone());
            for a in self.config.actions.clone() {
                let fired = match &a {
                    Action::Webhook(url) => actions::webhook(url, &result).await,
                    Action::Retrain(r) => self.retrain(r.clone(), &why, drifted.clone()).await,
                };
                if let Err(e) = fired {
                    tracing::warn!(error = %e, action = ?a, "drift action failed");
                }
            }
        } else if let Some(n) = self.config.retrain_after_labels {
            let got = self.served.as_ref().map_or(0, |s| s.labels_received());
            if got.saturating_sub(self.labels_at_retrain) >= n {
                let why = format!(
                    "{} new ground-truth labels (retraining every {n})",
                    got - self.labels_at_retrain
                );
                for a in self.config.actions.clone() {
                    if let Action::Retrain(r) = a {
                        if let Err(e) = self.retrain(r, &why, None).await {
                            tracing::warn!(error = %e, "retraining failed");
                        }
                    }
                }
            }
        }
        self.settle_canaries().await;
        Ok(result)
    }

    /// The live variant: the most weighted one that is not a canary.
    fn live(&self) -> Option<(String, String)> {
        let served = self.served.as_ref()?;
        let canaries: Vec<&str> = self.canaries.iter().map(|c| c.variant.as_str()).collect();
        served
            .variants()
            .into_iter()
            .filter(|v| !canaries.contains(&v.0.as_str()))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|v| (v.0, v.2))
    }

    async fn retrain(
        &mut self,
        retrainer: Arc<dyn Retrainer>,
        why: &str,
        version: Option<String>,
    ) -> Result<(), String> {
        let live = self.live();
        let Some(model_version) = version.or_else(|| live.as_ref().map(|l| l.1.clone())) else {
            return Err("no model version to retrain from".into());
        };
        let served = self.served.clone();
        let request = RetrainRequest {
            reason: why.to_string(),
            model_version,
            capture_dir: served.as_ref().and_then(|s| s.capture_dir()),
            feedback_dir: served.as_ref().and_then(|s| s.feedback_dir()),
        };
        tracing::warn!(reason = %why, from = %request.model_version, "retraining");
        self.labels_at_retrain = served.as_ref().map_or(0, |s| s.labels_received());
        let done = tokio::task::spawn_blocking(move || retrainer.retrain(&request))
            .await
            .map_err(|e| format!("retraining: {e}"))??;
        metrics::counter!(RETRAININGS, "status" => done.status.clone()).increment(1);
        tracing::info!(execution = %done.execution, status = %done.status, model = ?done.model, "retraining finished");
        let (Some(cfg), Some(served), Some(model), Some((live, _))) =
            (&self.config.canary, &self.served, &done.model, live)
        else {
            return Ok(());
        };
        if !model.approved {
            tracing::info!(version = %model.version, "the retrained version awaits approval; no canary");
            return Ok(());
        }
        let c = canary::deploy(served.as_ref(), cfg, &live, model).await?;
        self.canaries.push(c);
        Ok(())
    }

    async fn settle_canaries(&mut self) {
        let (Some(cfg), Some(served)) = (self.config.canary.clone(), self.served.clone()) else {
            return;
        };
        let mut still = Vec::new();
        for c in std::mem::take(&mut self.canaries) {
            match canary::settle(served.as_ref(), &cfg, &c).await {
                Ok(Some(outcome)) => {
                    let label = match outcome {
                        Settled::Promoted => "promoted",
                        Settled::Retired => "retired",
                    };
                    metrics::counter!(CANARY_PROMOTIONS, "outcome" => label).increment(1);
                }
                Ok(None) => still.push(c),
                Err(e) => {
                    tracing::warn!(error = %e, experiment = %c.experiment, "settling the canary failed");
                    still.push(c);
                }
            }
        }
        self.canaries = still;
    }
}

/// Starts the schedule in an endpoint; the task runs until aborted.
pub fn spawn(config: ScheduleConfig, served: Arc<dyn Served>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut monitor = Monitor::in_endpoint(config, served);
        let mut every = tokio::time::interval(monitor.config.interval);
        every.tick().await;
        loop {
            every.tick().await;
            match monitor.tick().await {
                Ok(r) => tracing::info!(
                    records = r.records(),
                    groups = r.groups.len(),
                    violations = r.violations().count(),
                    unjudged = r.unjudged.len(),
                    canaries = monitor.canaries().len(),
                    "drift monitor ran"
                ),
                Err(e) => tracing::warn!(error = %e, "drift monitor failed"),
            }
        }
    })
}
