//! Monitoring (data science): per endpoint, the drift runs of each series over time
//! (status, records, violations, PSI), the newest run's features with baseline and current
//! histograms and test statistics, and ground-truth quality per variant (captured
//! predictions joined with feedback).
use crate::app::{blocking, App, KnownEndpoint};
use crate::error::Result;
use crate::reports::{self, RunSummary};
use monitoring::drift::FeatureDrift;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Runs drawn per series, at most (the newest).
const RUNS_SHOWN: usize = 720;
/// How long a quality report is reused.
const QUALITY_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct SeriesSummary {
    pub name: String,
    pub runs: usize,
    pub latest: Option<RunSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonitorSummary {
    pub endpoint: String,
    pub series: Vec<SeriesSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonitoringView {
    pub endpoints: Vec<MonitorSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatestRun {
    pub at: String,
    pub features: Vec<FeatureDrift>,
    pub unchecked: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftSeries {
    pub name: String,
    pub total_runs: usize,
    /// Oldest first, the newest [`RUNS_SHOWN`].
    pub runs: Vec<RunSummary>,
    pub latest: Option<LatestRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QualityVariant {
    pub n: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QualityView {
    pub feedback_records: u64,
    pub unknown_ids: u64,
    pub unmatched_instances: u64,
    pub variants: BTreeMap<String, QualityVariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonitorView {
    pub endpoint: String,
    pub series: Vec<DriftSeries>,
    pub quality: Option<QualityView>,
}

fn summaries(app: &App, e: &KnownEndpoint) -> Vec<SeriesSummary> {
    let Some(dir) = &e.monitor_dir else {
        return Vec::new();
    };
    app.reports
        .by_series(dir)
        .into_iter()
        .map(|(name, runs)| SeriesSummary {
            name,
            runs: runs.len(),
            latest: runs.last().map(|r| r.summary.clone()),
        })
        .collect()
}

/// Every known endpoint's drift series, briefly.
pub fn summarize(app: &App) -> Result<Vec<MonitorSummary>> {
    Ok(app
        .endpoints()?
        .iter()
        .map(|e| MonitorSummary {
            endpoint: e.name.clone(),
            series: summaries(app, e),
        })
        .collect())
}

pub async fn list(app: &Arc<App>) -> Result<MonitoringView> {
    blocking(app, |app| {
        Ok(MonitoringView {
            endpoints: summarize(app)?,
        })
    })
    .await
}

fn quality(app: &App, e: &KnownEndpoint) -> Result<Option<QualityView>> {
    let (Some(capture), Some(state)) = (&e.capture_dir, &e.state_dir) else {
        return Ok(None);
    };
    let feedback = state.join("feedback").join(&e.name);
    if !capture.is_dir() || !feedback.exists() {
        return Ok(None);
    }
    let v = app
        .memo
        .get_or(&format!("quality/{}", e.name), QUALITY_TTL, || {
            let records = monitoring::capture::read_dir(capture)?;
            let truth = monitoring::feedback::read_feedback(&feedback)?.records;
            let q = monitoring::quality::quality(&records, &truth);
            let view = QualityView {
                feedback_records: q.feedback_records,
                unknown_ids: q.unknown_ids,
                unmatched_instances: q.unmatched_instances,
                variants: q
                    .variants
                    .iter()
                    .map(|(k, e)| {
                        (
                            k.clone(),
                            QualityVariant {
                                n: e.n,
                                accuracy: e.accuracy,
                                balanced_accuracy: e.balanced_accuracy,
                                macro_f1: e.macro_f1,
                            },
                        )
                    })
                    .collect(),
            };
            Ok(serde_json::to_value(view).unwrap_or_default())
        })?;
    Ok(serde_json::from_value(v).ok())
}

pub async fn detail(app: &Arc<App>, endpoint: String) -> Result<MonitorView> {
    blocking(app, move |app| {
        let e = app.endpoint(&endpoint)?;
        let mut series = Vec::new();
        if let Some(dir) = &e.monitor_dir {
            for (name, runs) in app.reports.by_series(dir) {
                let latest = runs.last().and_then(|r| {
                    reports::load(r).map(|full| LatestRun {
                        at: r.summary.at.clone(),
                        features: full.features,
                        unchecked: full
                            .unchecked_features
                            .iter()
                            .map(|u| {
                                format!(
                                    "{}: {}",
                                    u.feature_name,
                                    crate::redact::hide_paths(&u.reason)
                                )
                            })
                            .collect(),
                    })
                });
                let skip = runs.len().saturating_sub(RUNS_SHOWN);
                series.push(DriftSeries {
                    name,
                    total_runs: runs.len(),
                    runs: runs.iter().skip(skip).map(|r| r.summary.clone()).collect(),
                    latest,
                });
            }
        }
        Ok(MonitorView {
            quality: quality(app, &e)?,
            endpoint: e.name,
            series,
        })
    })
    .await
}
