//! The registry: groups, each group's versions with metrics side by side, approval
//! status and notes, and its history as a timeline (with the state at any time `at`:
//! what was approved and deployed then).
use super::{metrics_of, Pagination, VersionRef};
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use crate::redact::hide_paths;
use pipeline::store::{ApprovalStatus, ModelVersion, RegistryEvent};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub group: String,
    pub versions: usize,
    pub pending: usize,
    pub latest: VersionRef,
    pub latest_approved: Option<VersionRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegistryView {
    pub groups: Vec<GroupRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRow {
    pub at: String,
    pub version: String,
    pub number: Option<i64>,
    /// registered, approved, rejected, deployed.
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: String,
    pub note: String,
    pub endpoint: Option<String>,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    #[serde(flatten)]
    pub version: VersionRef,
    pub created_at: String,
    pub execution_id: String,
    pub metrics: BTreeMap<String, f64>,
    /// Approval decisions with their notes.
    pub notes: Vec<EventRow>,
    /// `endpoint/variant` it was last deployed to.
    pub deployed_to: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub target: String,
    pub number: Option<i64>,
    pub version: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    pub at: String,
    pub latest_approved: Option<VersionRef>,
    pub approved: Vec<i64>,
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub group: String,
    pub metric_names: Vec<String>,
    /// Newest first, by page.
    pub versions: Vec<VersionRow>,
    pub pagination: Pagination,
    /// Each metric over version numbers (all versions).
    pub trend: BTreeMap<String, Vec<(i64, f64)>>,
    /// The group's history, oldest first (the newest 200 events).
    pub history: Vec<EventRow>,
    /// The state at `?at=` (now without it).
    pub state: StateView,
    /// Whether `?at=` was given.
    pub at_given: bool,
}

/// Events kept on a group page.
const HISTORY: usize = 200;

fn event_row(e: &RegistryEvent, numbers: &BTreeMap<&str, i64>) -> EventRow {
    EventRow {
        at: e.at.clone(),
        number: numbers.get(e.version.as_str()).copied(),
        version: e.version.clone(),
        event: e.event.clone(),
        from_status: e.from_status.clone(),
        to_status: e.to_status.clone(),
        actor: e.actor.clone(),
        note: hide_paths(&e.note),
        endpoint: e.endpoint.clone(),
        variant: e.variant.clone(),
    }
}

pub async fn list(app: &Arc<App>) -> Result<RegistryView> {
    blocking(app, |app| {
        let all = app.stores.metadata.versions(None)?;
        let mut by_group: BTreeMap<&str, Vec<&ModelVersion>> = BTreeMap::new();
        for v in &all {
            by_group.entry(v.group.as_str()).or_default().push(v);
        }
        let registry = app.stores.registry();
        let mut groups = Vec::new();
        for (g, vs) in by_group {
            let latest = vs.iter().max_by_key(|v| v.number).copied();
            let Some(latest) = latest else { continue };
            let approved = registry.state_at(Some(g), None)?.latest_approved;
            groups.push(GroupRow {
                group: g.to_string(),
                versions: vs.len(),
                pending: vs
                    .iter()
                    .filter(|v| v.status == ApprovalStatus::PendingManualApproval)
                    .count(),
                latest: VersionRef::new(latest),
                latest_approved: approved.and_then(|id| {
                    vs.iter()
                        .find(|v| v.version == id)
                        .map(|v| VersionRef::new(v))
                }),
            });
        }
        Ok(RegistryView { groups })
    })
    .await
}

pub async fn group(
    app: &Arc<App>,
    group: String,
    page: usize,
    at: Option<String>,
) -> Result<GroupView> {
    blocking(app, move |app| {
        let mut versions = app.stores.metadata.versions(Some(&group))?;
        if versions.is_empty() {
            return Err(ConsoleError::NotFound(format!(
                "no model package group {group:?}"
            )));
        }
        versions.sort_by_key(|v| std::cmp::Reverse(v.number));
        let numbers: BTreeMap<&str, i64> = versions
            .iter()
            .map(|v| (v.version.as_str(), v.number))
            .collect();
        let events = app.stores.registry().history(Some(&group), None)?;
        let mut deployed: BTreeMap<String, String> = BTreeMap::new();
        for e in events.iter().filter(|e| e.event == "deployed") {
            let target = format!(
                "{}/{}",
                e.endpoint.as_deref().unwrap_or("?"),
                e.variant.as_deref().unwrap_or("?")
            );
            deployed.insert(target, e.version.clone());
        }
        let per_page = app.config.page_size;
        let pagination = Pagination::new(page, per_page, versions.len());
        let mut metric_names = BTreeSet::new();
        let mut trend: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for v in versions.iter().rev() {
            for (k, x) in metrics_of(v) {
                metric_names.insert(k.clone());
                trend.entry(k).or_default().push((v.number, x));
            }
        }
        let rows = versions
            .iter()
            .skip(pagination.offset())
            .take(per_page)
            .map(|v| VersionRow {
                version: VersionRef::new(v),
                created_at: v.created_at.clone(),
                execution_id: v.execution_id.clone(),
                metrics: metrics_of(v),
                notes: events
                    .iter()
                    .filter(|e| {
                        e.version == v.version
                            && matches!(e.event.as_str(), "approved" | "rejected")
                    })
                    .map(|e| event_row(e, &numbers))
                    .collect(),
                deployed_to: deployed
                    .iter()
                    .filter(|(_, ver)| **ver == v.version)
                    .map(|(t, _)| t.clone())
                    .collect(),
            })
            .collect();
        let state = app
            .stores
            .registry()
            .state_at(Some(&group), at.as_deref())?;
        let by_id = |id: &str| {
            versions
                .iter()
                .find(|v| v.version == id)
                .map(VersionRef::new)
        };
        let state = StateView {
            at: state.at.clone(),
            latest_approved: state.latest_approved.as_deref().and_then(by_id),
            approved: state
                .statuses
                .iter()
                .filter(|(_, s)| **s == ApprovalStatus::Approved)
                .filter_map(|(v, _)| numbers.get(v.as_str()).copied())
                .collect(),
            deployments: state
                .deployments
                .iter()
                .map(|(target, e)| Deployment {
                    target: target.clone(),
                    number: numbers.get(e.version.as_str()).copied(),
                    version: e.version.clone(),
                    at: e.at.clone(),
                })
                .collect(),
        };
        let skip = events.len().saturating_sub(HISTORY);
        Ok(GroupView {
            metric_names: metric_names.into_iter().collect(),
            versions: rows,
            pagination,
            trend,
            history: events
                .iter()
                .skip(skip)
                .map(|e| event_row(e, &numbers))
                .collect(),
            state,
            at_given: at.is_some(),
            group,
        })
    })
    .await
}
