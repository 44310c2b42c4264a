//! What each page shows, gathered from the store, the home's files and the endpoints, as
//! one serializable value per page: the JSON under `/api/…` is exactly what the page
//! renders.
pub mod endpoints;
pub mod experiments;
pub mod home;
pub mod lineage;
pub mod models;
pub mod monitoring;
pub mod pipelines;
pub mod registry;

use crate::app::App;
use crate::error::{ConsoleError, Result};
use pipeline::store::{ExecutionRecord, ModelVersion};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The pages (and their JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Home,
    Pipelines,
    Execution,
    Registry,
    Group,
    Model,
    Lineage,
    Endpoints,
    Endpoint,
    Live,
    Monitoring,
    Monitor,
    Experiments,
    Experiment,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ViewData {
    Home(home::HomeView),
    Pipelines(pipelines::PipelinesView),
    Execution(Box<pipelines::ExecutionView>),
    Registry(registry::RegistryView),
    Group(registry::GroupView),
    Model(Box<models::ModelView>),
    Lineage(lineage::LineageView),
    Endpoints(endpoints::EndpointsView),
    Endpoint(Box<endpoints::EndpointView>),
    Live(endpoints::LiveView),
    Monitoring(monitoring::MonitoringView),
    Monitor(Box<monitoring::MonitorView>),
    Experiments(experiments::ExperimentsView),
    Experiment(Box<experiments::ExperimentView>),
}

pub type Query = HashMap<String, String>;

/// Gathers the data of a view.
pub async fn gather(app: &Arc<App>, v: View, params: &[String], q: &Query) -> Result<ViewData> {
    let p = |i: usize| params.get(i).cloned().unwrap_or_default();
    Ok(match v {
        View::Home => ViewData::Home(home::gather(app).await?),
        View::Pipelines => ViewData::Pipelines(pipelines::list(app, page_of(q)?).await?),
        View::Execution => ViewData::Execution(Box::new(pipelines::execution(app, p(0)).await?)),
        View::Registry => ViewData::Registry(registry::list(app).await?),
        View::Group => {
            ViewData::Group(registry::group(app, p(0), page_of(q)?, q.get("at").cloned()).await?)
        }
        View::Model => ViewData::Model(Box::new(
            models::gather(app, p(0), q.get("compare").cloned()).await?,
        )),
        View::Lineage => ViewData::Lineage(lineage::gather(app, p(0)).await?),
        View::Endpoints => ViewData::Endpoints(endpoints::list(app).await?),
        View::Endpoint => ViewData::Endpoint(Box::new(endpoints::detail(app, &p(0)).await?)),
        View::Live => ViewData::Live(endpoints::live(app, &p(0)).await?),
        View::Monitoring => ViewData::Monitoring(monitoring::list(app).await?),
        View::Monitor => ViewData::Monitor(Box::new(monitoring::detail(app, p(0)).await?)),
        View::Experiments => ViewData::Experiments(experiments::list(app).await?),
        View::Experiment => {
            ViewData::Experiment(Box::new(experiments::detail(app, &p(0), &p(1)).await?))
        }
    })
}

/// `?page=N` (1-based; 1 when absent).
pub fn page_of(q: &Query) -> Result<usize> {
    match q.get("page") {
        None => Ok(1),
        Some(s) => s.parse::<usize>().ok().filter(|p| *p >= 1).ok_or_else(|| {
            ConsoleError::BadRequest(format!("page {s:?} is not a page number (1, 2, …)"))
        }),
    }
}

/// Where a page is in a longer list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pagination {
    pub page: usize,
    pub pages: usize,
    pub per_page: usize,
    pub total: usize,
}

impl Pagination {
    pub fn new(page: usize, per_page: usize, total: usize) -> Self {
        let per_page = per_page.max(1);
        Pagination {
            page,
            pages: total.div_ceil(per_page).max(1),
            per_page,
            total,
        }
    }
    pub fn offset(&self) -> usize {
        (self.page - 1) * self.per_page
    }
}

/// Seconds between two store times (RFC 3339).
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1e3)
}

/// Unix seconds of a store time.
pub fn unix(t: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_millis() as f64 / 1e3)
}

/// An execution in a list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExecRow {
    pub id: String,
    pub pipeline: String,
    /// Succeeded, Failed, Executing or "Executing (interrupted)".
    pub status: String,
    pub trigger: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_s: Option<f64>,
    pub failure_reason: Option<String>,
}

impl ExecRow {
    pub fn new(e: &ExecutionRecord) -> Self {
        let l = pipeline::describe::ExecutionListing::new(e);
        ExecRow {
            duration_s: e
                .ended_at
                .as_deref()
                .and_then(|end| seconds_between(&e.started_at, end)),
            status: l.status_text(),
            id: l.id,
            pipeline: l.pipeline,
            trigger: crate::redact::hide_paths(&l.trigger),
            started_at: l.started_at,
            ended_at: l.ended_at,
            failure_reason: l.failure_reason.map(|r| crate::redact::hide_paths(&r)),
        }
    }
}

/// A model version named briefly.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct VersionRef {
    pub group: String,
    pub number: i64,
    pub version: String,
    pub status: String,
}

impl VersionRef {
    pub fn new(v: &ModelVersion) -> Self {
        VersionRef {
            group: v.group.clone(),
            number: v.number,
            version: v.version.clone(),
            status: v.status.to_string(),
        }
    }
}

/// A version's metrics as numbers (`accuracy`, `balanced_accuracy`, `macro_f1`, …).
pub fn metrics_of(v: &ModelVersion) -> std::collections::BTreeMap<String, f64> {
    v.metrics
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| {
                    x.as_f64()
                        .or_else(|| x["value"].as_f64())
                        .map(|f| (k.clone(), f))
                })
                .collect()
        })
        .unwrap_or_default()
}
