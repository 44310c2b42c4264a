//! Pipelines: executions by page with each pipeline's definition as a graph; one
//! execution drawn on its graph with every step's state, timing, cache decision, inputs
//! and outputs (digests), properties and log.
use super::{ExecRow, Pagination, VersionRef};
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use crate::redact::{hide_paths, redact_json};
use crate::svg::dag::{Edge, Graph, Node};
use pipeline::definition::{InputRef, PipelineDef};
use pipeline::store::{ExecutionStatus, StepRecord};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct PipelineGraph {
    pub name: String,
    pub graph: Graph,
}

#[derive(Debug, Clone, Serialize)]
pub struct PipelinesView {
    /// The definitions of the pipelines on this page (the newest execution's of each).
    pub pipelines: Vec<PipelineGraph>,
    pub executions: Vec<ExecRow>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Digest {
    pub name: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub name: String,
    pub kind: String,
    pub status: String,
    pub started_at: String,
    pub duration_s: Option<f64>,
    pub cache_decision: Option<String>,
    pub cached_from: Option<String>,
    pub inputs: Vec<Digest>,
    pub outputs: Vec<Digest>,
    pub properties: Value,
    pub log: String,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExecutionView {
    pub execution: ExecRow,
    pub code_version: String,
    pub parameters: BTreeMap<String, String>,
    pub graph: Graph,
    pub steps: Vec<StepView>,
    pub registered: Option<VersionRef>,
    /// Failed or interrupted: `resume` continues it.
    pub can_resume: bool,
}

pub async fn list(app: &Arc<App>, page: usize) -> Result<PipelinesView> {
    blocking(app, move |app| {
        let per_page = app.config.page_size;
        let first = app
            .stores
            .metadata
            .executions_page((page - 1) * per_page, per_page)?;
        let pagination = Pagination::new(page, per_page, first.total);
        let mut pipelines: Vec<PipelineGraph> = Vec::new();
        for e in &first.items {
            if pipelines.iter().any(|p| p.name == e.pipeline) {
                continue;
            }
            if let Ok(def) = serde_json::from_value::<PipelineDef>(e.definition.clone()) {
                pipelines.push(PipelineGraph {
                    name: e.pipeline.clone(),
                    graph: graph(&def, None),
                });
            }
        }
        if pipelines.is_empty() {
            let def = PipelineDef::default_pipeline();
            pipelines.push(PipelineGraph {
                name: format!("{} (built-in)", def.name),
                graph: graph(&def, None),
            });
        }
        Ok(PipelinesView {
            pipelines,
            executions: first.items.iter().map(ExecRow::new).collect(),
            pagination,
        })
    })
    .await
}

/// The definition as a graph; with step runs, coloured by each step's latest state.
pub fn graph(def: &PipelineDef, runs: Option<(&[StepRecord], &str, bool)>) -> Graph {
    let index: BTreeMap<&str, usize> = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let nodes = def
        .steps
        .iter()
        .map(|s| {
            let run = runs.and_then(|(r, _, _)| r.iter().rev().find(|x| x.step == s.name));
            let (class, sub, title) = match (run, runs) {
                (Some(r), _) => {
                    let t = r
                        .duration_s
                        .map(|d| format!(" · {d:.1} s"))
                        .unwrap_or_default();
                    let why = r
                        .cache_decision
                        .as_deref()
                        .map(|d| format!("\ncache: {}", hide_paths(d)))
                        .unwrap_or_default();
                    (
                        r.status.to_string().to_lowercase(),
                        format!("{}{t}", s.kind),
                        format!("{} ({}): {}{why}", s.name, s.kind, r.status),
                    )
                }
                (None, Some((_, _, running))) => (
                    if running { "pending" } else { "notrun" }.to_string(),
                    s.kind.to_string(),
                    format!("{} ({}): not run", s.name, s.kind),
                ),
                (None, None) => (
                    "definition".to_string(),
                    s.kind.to_string(),
                    format!("{} ({})", s.name, s.kind),
                ),
            };
            Node {
                label: s.name.clone(),
                sub,
                class,
                href: runs.map(|(_, id, _)| format!("/executions/{id}#step-{}", s.name)),
                title,
            }
        })
        .collect();
    let mut edges: BTreeMap<(usize, usize), (Vec<String>, bool)> = BTreeMap::new();
    for (j, s) in def.steps.iter().enumerate() {
        for r in s.inputs.values() {
            if let Some(InputRef::Step { step, output }) = InputRef::parse(r) {
                if let Some(&i) = index.get(step.as_str()) {
                    edges.entry((i, j)).or_default().0.push(output);
                }
            }
        }
        for d in &s.depends_on {
            if let Some(&i) = index.get(d.as_str()) {
                edges.entry((i, j)).or_insert_with(|| (Vec::new(), true));
            }
        }
        for (key, label) in [("if_true", "if true"), ("if_false", "if false")] {
            let targets = s
                .config
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for t in targets.iter().filter_map(Value::as_str) {
                if let Some(&k) = index.get(t) {
                    edges.insert((j, k), (vec![label.to_string()], true));
                }
            }
        }
    }
    Graph {
        nodes,
        edges: edges
            .into_iter()
            .map(|((from, to), (labels, dashed))| Edge {
                from,
                to,
                label: (!labels.is_empty()).then(|| labels.join(", ")),
                dashed,
            })
            .collect(),
    }
}

fn digests(v: &Value) -> Vec<Digest> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, d)| Digest {
                    name: k.clone(),
                    digest: d.as_str().map(hide_paths).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn execution(app: &Arc<App>, id: String) -> Result<ExecutionView> {
    blocking(app, move |app| {
        let store = &*app.stores.metadata;
        let e = store
            .execution(&id)?
            .ok_or_else(|| ConsoleError::NotFound(format!("no execution {id:?}")))?;
        let runs = store.steps(&e.id)?;
        let manifest = e.manifest.clone().unwrap_or(Value::Null);
        let manifest_step = |name: &str| {
            manifest["steps"]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["name"] == name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let steps = runs
            .iter()
            .map(|r| {
                let m = manifest_step(&r.step);
                let inputs = if m["inputs"].is_object() {
                    digests(&m["inputs"])
                } else {
                    r.key_parts
                        .as_ref()
                        .map(|k| digests(&k["inputs"]))
                        .unwrap_or_default()
                };
                StepView {
                    name: r.step.clone(),
                    kind: r.kind.clone(),
                    status: r.status.to_string(),
                    started_at: r.started_at.clone(),
                    duration_s: r.duration_s,
                    cache_decision: r.cache_decision.as_deref().map(hide_paths),
                    cached_from: r.cached_from.clone(),
                    inputs,
                    outputs: r
                        .outputs
                        .iter()
                        .map(|(k, d)| Digest {
                            name: k.clone(),
                            digest: d.clone(),
                        })
                        .collect(),
                    properties: redact_json(&r.properties),
                    log: hide_paths(&r.log_excerpt),
                    failure_reason: r.failure_reason.as_deref().map(hide_paths),
                }
            })
            .collect();
        let running = e.status == ExecutionStatus::Executing && !e.interrupted();
        let graph = serde_json::from_value::<PipelineDef>(e.definition.clone())
            .map(|def| graph(&def, Some((&runs, &e.id, running))))
            .unwrap_or_default();
        let registered = manifest["registered"]["version"]
            .as_str()
            .and_then(|v| store.version(v).ok().flatten())
            .map(|v| VersionRef::new(&v));
        let parameters = e
            .parameters
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let shown = match redact_json(v) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k.clone(), shown)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ExecutionView {
            can_resume: e.status == ExecutionStatus::Failed || e.interrupted(),
            execution: ExecRow::new(&e),
            code_version: e.code_version.clone(),
            parameters,
            graph,
            steps,
            registered,
        })
    })
    .await
}
