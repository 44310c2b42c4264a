//! The home page: recent executions, model groups with their latest approved version,
//! running endpoints with variants and request rate, open drift violations and running
//! experiments.
use super::endpoints::{rows, EndpointRow};
use super::experiments::ExperimentRow;
use super::registry::GroupRow;
use super::ExecRow;
use crate::app::{blocking, App};
use crate::error::Result;
use crate::reports::ViolationBrief;
use serde::Serialize;
use std::sync::Arc;

/// Executions listed on the home page.
const RECENT: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct OpenViolation {
    pub endpoint: String,
    pub series: String,
    pub at: String,
    pub violation: ViolationBrief,
}

#[derive(Debug, Clone, Serialize)]
pub struct HomeView {
    pub executions: Vec<ExecRow>,
    pub total_executions: usize,
    pub groups: Vec<GroupRow>,
    pub endpoints: Vec<EndpointRow>,
    /// Violations of the newest run of each drift series.
    pub violations: Vec<OpenViolation>,
    pub experiments: Vec<ExperimentRow>,
}

pub async fn gather(app: &Arc<App>) -> Result<HomeView> {
    let endpoints = rows(app).await?;
    let groups = super::registry::list(app).await?.groups;
    blocking(app, move |app| {
        let page = app.stores.metadata.executions_page(0, RECENT)?;
        let mut violations = Vec::new();
        for m in super::monitoring::summarize(app)? {
            for s in m.series {
                let Some(latest) = s.latest else { continue };
                for v in latest.violations {
                    violations.push(OpenViolation {
                        endpoint: m.endpoint.clone(),
                        series: s.name.clone(),
                        at: latest.at.clone(),
                        violation: v,
                    });
                }
            }
        }
        let experiments = super::experiments::rows(app)?
            .into_iter()
            .filter(|e| e.status == "running")
            .collect();
        Ok(HomeView {
            executions: page.items.iter().map(ExecRow::new).collect(),
            total_executions: page.total,
            groups,
            endpoints,
            violations,
            experiments,
        })
    })
    .await
}
