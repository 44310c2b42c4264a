//! The lineage of a version as a graph: data set (by digest) → the steps' artifacts → the
//! model version → the deployments recorded for it. Nodes link to their execution, the
//! version's performance page and the endpoints.
use super::VersionRef;
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use crate::redact::redact_json;
use crate::svg::dag::{Edge, Graph, Node};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct LineageView {
    pub version: VersionRef,
    pub execution: Option<String>,
    pub pipeline: Option<String>,
    pub trigger: Option<String>,
    pub code_version: Option<String>,
    pub data_digest: Option<String>,
    pub data_rows: Value,
    pub architecture: Option<String>,
    pub hyperparameters: Value,
    pub parameters: Value,
    pub graph: Graph,
}

fn short(d: &str) -> String {
    d.trim_start_matches("sha256-").chars().take(12).collect()
}

struct Builder {
    g: Graph,
    /// digest → node.
    seen: BTreeMap<String, usize>,
}

impl Builder {
    /// Adds the artifact tree under `node` (depth-first); returns its node index.
    fn add(&mut self, node: &Value, depth: usize) -> usize {
        let digest = node["digest"].as_str().unwrap_or("?").to_string();
        if let Some(&i) = self.seen.get(&digest) {
            return i;
        }
        let file = node["kind"] == "file" || node["step"].is_null();
        let i = self.g.nodes.len();
        self.g.nodes.push(if file {
            Node {
                label: "data set".into(),
                sub: format!("sha256 {}", short(&digest)),
                class: "data".into(),
                href: None,
                title: format!("data file, sha256 {digest}"),
            }
        } else {
            let step = node["step"].as_str().unwrap_or("?");
            let output = node["output"].as_str().unwrap_or("?");
            let exec = node["execution"].as_str().unwrap_or("");
            Node {
                label: format!("{step}.{output}"),
                sub: short(&digest),
                class: "artifact".into(),
                href: (!exec.is_empty()).then(|| format!("/executions/{exec}#step-{step}")),
                title: format!("output {output} of step {step}, execution {exec}, digest {digest}"),
            }
        });
        self.seen.insert(digest, i);
        if depth < 16 {
            if let Some(parents) = node["parents"].as_object() {
                for (name, p) in parents {
                    let j = self.add(p, depth + 1);
                    self.g.edges.push(Edge {
                        from: j,
                        to: i,
                        label: Some(name.clone()),
                        dashed: false,
                    });
                }
            }
        }
        i
    }
}

pub async fn gather(app: &Arc<App>, version: String) -> Result<LineageView> {
    blocking(app, move |app| {
        let (v, l) =
            pipeline::lineage::lineage(&*app.stores.metadata, &version).map_err(|e| match e {
                pipeline::PipelineError::NotFound { .. } => {
                    ConsoleError::NotFound(format!("no model version {version:?}"))
                }
                other => other.into(),
            })?;
        let mut b = Builder {
            g: Graph::default(),
            seen: BTreeMap::new(),
        };
        let model = Node {
            label: format!("{}/{}", v.group, v.number),
            sub: v.status.to_string(),
            class: "model".into(),
            href: Some(format!("/models/{}", v.version)),
            title: format!("model version {}", v.version),
        };
        let parents: Vec<(String, Value)> = l["parents"]
            .as_object()
            .map(|m| m.iter().map(|(k, x)| (k.clone(), x.clone())).collect())
            .unwrap_or_default();
        let mut inputs = Vec::new();
        for (name, p) in &parents {
            inputs.push((name.clone(), b.add(p, 0)));
        }
        let m = b.g.nodes.len();
        b.g.nodes.push(model);
        for (name, i) in inputs {
            b.g.edges.push(Edge {
                from: i,
                to: m,
                label: Some(name),
                dashed: false,
            });
        }
        let mut targets = BTreeMap::new();
        for e in app.stores.registry().version_history(&v)? {
            if e.event == "deployed" {
                let ep = e.endpoint.clone().unwrap_or_default();
                let target = format!("{ep}/{}", e.variant.clone().unwrap_or_default());
                targets.insert(target, (ep, e.at.clone()));
            }
        }
        for (target, (ep, at)) in targets {
            let d = b.g.nodes.len();
            b.g.nodes.push(Node {
                label: target.clone(),
                sub: format!("deployed {}", at.get(..16).unwrap_or(&at)),
                class: "deployment".into(),
                href: Some(format!("/endpoints/{ep}")),
                title: format!("deployed to {target} at {at}"),
            });
            b.g.edges.push(Edge {
                from: m,
                to: d,
                label: None,
                dashed: false,
            });
        }
        let exec = &l["execution"];
        let text = |x: &Value| x.as_str().map(crate::redact::hide_paths);
        Ok(LineageView {
            version: VersionRef::new(&v),
            execution: text(&exec["id"]),
            pipeline: text(&exec["pipeline"]),
            trigger: text(&exec["trigger"]),
            code_version: text(&exec["code_version"]),
            data_digest: text(&l["data"]["digest"]),
            data_rows: redact_json(&l["data"]["rows"]),
            architecture: text(&l["architecture"]),
            hyperparameters: redact_json(&l["hyperparameters"]),
            parameters: redact_json(&exec["parameters"]),
            graph: b.g,
        })
    })
    .await
}
