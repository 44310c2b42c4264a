//! Experiments: the A/B experiments recorded in endpoints' state folders, and one
//! experiment's report (from the running endpoint's `/experiments/{id}`, else computed
//! from its capture and feedback files) with its verdict.
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use monitoring::experiment::{
    report_from_files, ExperimentReport, ExperimentStore, ReportOptions, Verdict,
};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentRow {
    pub endpoint: String,
    pub id: String,
    pub variants: Vec<String>,
    pub shadow: Option<String>,
    pub status: String,
    pub started_at: String,
    pub winner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentsView {
    pub experiments: Vec<ExperimentRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentView {
    pub endpoint: String,
    /// "endpoint" (live) or "files".
    pub source: &'static str,
    pub report: ExperimentReport,
    /// The variant the verdict names, if any.
    pub suggested_winner: Option<String>,
    /// Labelled instances still needed per variant before a verdict, if not enough yet.
    pub still_needed_per_variant: Option<u64>,
}

/// Every experiment of every known endpoint, newest first.
pub fn rows(app: &App) -> Result<Vec<ExperimentRow>> {
    let mut out: Vec<ExperimentRow> = Vec::new();
    for e in app.endpoints()? {
        let Some(state) = &e.state_dir else { continue };
        for x in ExperimentStore::new(state).list()? {
            if x.endpoint != e.name || out.iter().any(|r| r.endpoint == x.endpoint && r.id == x.id)
            {
                continue;
            }
            out.push(ExperimentRow {
                endpoint: x.endpoint,
                id: x.id,
                variants: x.variants,
                shadow: x.shadow,
                status: x.status,
                started_at: x.started_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                winner: x.winner,
            });
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    Ok(out)
}

pub async fn list(app: &Arc<App>) -> Result<ExperimentsView> {
    blocking(app, |app| {
        Ok(ExperimentsView {
            experiments: rows(app)?,
        })
    })
    .await
}

pub async fn detail(app: &Arc<App>, endpoint: &str, id: &str) -> Result<ExperimentView> {
    let e = {
        let endpoint = endpoint.to_string();
        blocking(app, move |app| app.endpoint(&endpoint)).await?
    };
    let mut live = None;
    if !e.stopped {
        let url = format!("{}/experiments/{id}", e.url);
        if let Ok(v) = app.client.get_json(&e.name, &url, None).await {
            live = serde_json::from_value::<ExperimentReport>(v).ok();
        }
    }
    let (source, report) = match live {
        Some(r) => ("endpoint", r),
        None => {
            let id = id.to_string();
            let e = e.clone();
            let r = blocking(app, move |_| {
                let state = e.state_dir.as_ref().ok_or_else(|| {
                    ConsoleError::NotFound(format!(
                        "endpoint {} has no state folder with experiments",
                        e.name
                    ))
                })?;
                let capture = e.capture_dir.clone().unwrap_or_default();
                Ok(report_from_files(
                    state,
                    &id,
                    &capture,
                    None,
                    &ReportOptions::default(),
                )?)
            })
            .await?;
            ("files", r)
        }
    };
    if report.experiment.endpoint != e.name {
        return Err(ConsoleError::NotFound(format!(
            "endpoint {} has no experiment {id:?}",
            e.name
        )));
    }
    let (suggested_winner, still_needed_per_variant) = match &report.verdict {
        Verdict::Winner { variant } => (Some(variant.clone()), None),
        Verdict::NotEnoughData {
            needed_per_variant,
            have_min,
        } => (None, Some(needed_per_variant.saturating_sub(*have_min))),
        Verdict::NoSignificantDifference => (None, None),
    };
    Ok(ExperimentView {
        endpoint: e.name,
        source,
        report,
        suggested_winner,
        still_needed_per_variant,
    })
}
