//! The running server as the monitor schedule sees it ([`crate::schedule::Served`]): its
//! variants and their models, the management operations, the feedback count and the
//! experiment reports.
use crate::http::BoxFuture;
use crate::routes::App;
use crate::schedule::Served;
use crate::variant::VariantSource;
use monitoring::experiment::{Experiment, ExperimentReport, ReportOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A handle on the server's state.
pub struct AppHandle(pub Arc<App>);

impl Served for AppHandle {
    fn endpoint_name(&self) -> String {
        self.0.endpoint.name.clone()
    }

    fn variants(&self) -> Vec<(String, f64, String)> {
        self.0
            .endpoint
            .describe()
            .into_iter()
            .map(|v| (v.name, v.weight, v.deployed.model_version))
            .collect()
    }

    fn model_dir(&self, version: &str) -> Option<PathBuf> {
        self.0.endpoint.model_dir(version)
    }

    fn add_variant(
        &self,
        name: String,
        model: String,
        weight: f64,
    ) -> BoxFuture<Result<(), String>> {
        let app = self.0.clone();
        Box::pin(async move {
            app.endpoint
                .add_variant(&name, &VariantSource::Model(model), weight, false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn deploy(&self, name: String, model: String) -> BoxFuture<Result<(), String>> {
        let app = self.0.clone();
        Box::pin(async move {
            app.endpoint
                .deploy(&name, &VariantSource::Model(model), false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn remove_variant(&self, name: String) -> BoxFuture<Result<(), String>> {
        let app = self.0.clone();
        Box::pin(async move {
            app.endpoint
                .remove_variant(&name)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn set_weights(&self, weights: HashMap<String, f64>) -> BoxFuture<Result<(), String>> {
        let app = self.0.clone();
        Box::pin(async move {
            app.endpoint
                .update_weights(&weights)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn record(&self, variant: &str, action: &str, reference: Option<&str>) {
        self.0.endpoint.record_action(variant, action, reference);
    }

    fn labels_received(&self) -> u64 {
        self.0
            .feedback
            .as_ref()
            .map_or(0, |f| f.received.load(Ordering::Relaxed))
    }

    fn capture_dir(&self) -> Option<PathBuf> {
        let c = self.0.capture.as_ref()?;
        Some(c.config().dir.join(&self.0.endpoint.name))
    }

    fn feedback_dir(&self) -> Option<PathBuf> {
        self.0
            .feedback
            .as_ref()
            .map(|f| f.store.dir().to_path_buf())
    }

    fn experiment_exists(&self, id: &str) -> bool {
        self.0
            .reports
            .as_ref()
            .is_some_and(|r| r.store().load(id).is_ok())
    }

    fn save_experiment(&self, e: &Experiment) -> Result<(), String> {
        let r = self.0.reports.as_ref().ok_or_else(|| {
            "a canary's experiment needs a state directory (--state-dir)".to_string()
        })?;
        r.store().save(e).map_err(|e| e.to_string())
    }

    fn experiment_report(
        &self,
        id: &str,
        opts: &ReportOptions,
    ) -> Result<ExperimentReport, String> {
        let r = self
            .0
            .reports
            .as_ref()
            .ok_or_else(|| "experiments need a state directory (--state-dir)".to_string())?;
        r.report(id, opts).map_err(|e| e.to_string())
    }
}
