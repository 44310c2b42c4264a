//! Lineage of a model version: data (digest, rows), code version, hyperparameters,
//! framework versions, device, tokenizer digest, the artifact tree and the execution.
use crate::error::{PipelineError, Result};
use crate::store::{MetadataStore, ModelVersion};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MAX_DEPTH: usize = 16;

/// An artifact with the artifacts its step read, recursively.
pub fn artifact_tree(store: &dyn MetadataStore, digest: &str) -> Result<Value> {
    tree(store, digest, 0)
}

fn tree(store: &dyn MetadataStore, digest: &str, depth: usize) -> Result<Value> {
    let Some(a) = store.artifact(digest)? else {
        // A data file: not a stored artifact.
        return Ok(json!({"digest": digest, "kind": "file"}));
    };
    let mut parents = serde_json::Map::new();
    if depth < MAX_DEPTH {
        for (name, d) in &a.parents {
            parents.insert(name.clone(), tree(store, d, depth + 1)?);
        }
    }
    Ok(json!({
        "digest": a.digest, "step": a.step, "output": a.output,
        "execution": a.execution_id, "created_at": a.created_at, "parents": parents,
    }))
}

/// The part of lineage that depends only on a package's inputs (so an identical rerun
/// produces an identical package): stored in the package's `metadata.json`.
pub(crate) fn package_lineage(
    store: &dyn MetadataStore,
    model_metadata: &Value,
    data: Option<&Value>,
    inputs: &BTreeMap<String, String>,
) -> Result<Value> {
    let mut parents = serde_json::Map::new();
    for (name, d) in inputs {
        parents.insert(name.clone(), artifact_tree(store, d)?);
    }
    let m = model_metadata;
    let mut l = json!({
        "data": {
            "path": data.map(|d| d["path"].clone()),
            "digest": data.map(|d| d["digest"].clone()),
            "rows": data.map(|d| d["rows"].clone()),
            "class_counts": data.map(|d| d["class_counts"].clone()),
            "labels": data.map(|d| d["labels"].clone()),
            "split": m["data"],
        },
        "architecture": m["architecture"],
        "hyperparameters": m["hyperparameters"],
        "versions": m["versions"],
        "device": m["device"],
        "tokenizer_digest": m["tokenizer_digest"],
        "training": {"best_epoch": m["training"]["best_epoch"], "seconds": m["training"]["seconds"]},
        "parents": parents,
    });
    // A tuned model names its tuning job (best trial, parameters, score).
    if !m["tuning"].is_null() {
        l["tuning"] = m["tuning"].clone();
    }
    Ok(l)
}

/// The lineage of a registered version (by id or `group/number`).
pub fn lineage(store: &dyn MetadataStore, version: &str) -> Result<(ModelVersion, Value)> {
    let v = store
        .version(version)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "model version",
            id: version.to_string(),
        })?;
    let l = v.lineage.clone();
    Ok((v, l))
}

fn short(v: &Value) -> String {
    let s = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    s.chars().take(12).collect()
}

fn render_tree(
    node: &Value,
    label: &str,
    prefix: &str,
    last: bool,
    seen: &mut Vec<String>,
    out: &mut String,
) {
    let branch = if last { "└─ " } else { "├─ " };
    let digest = node["digest"].as_str().unwrap_or_default().to_string();
    if node["kind"] != "file" && seen.contains(&digest) {
        out.push_str(&format!(
            "{prefix}{branch}{label}: {} (shown above)\n",
            short(&node["digest"])
        ));
        return;
    }
    seen.push(digest);
    let desc = if node["kind"] == "file" {
        format!("{label}: data file sha256 {}", short(&node["digest"]))
    } else {
        format!(
            "{label}: {} ({}.{}, execution {})",
            short(&node["digest"]),
            node["step"].as_str().unwrap_or("?"),
            node["output"].as_str().unwrap_or("?"),
            node["execution"].as_str().unwrap_or("?")
        )
    };
    out.push_str(&format!("{prefix}{branch}{desc}\n"));
    let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
    if let Some(parents) = node["parents"].as_object() {
        let n = parents.len();
        for (i, (name, p)) in parents.iter().enumerate() {
            render_tree(p, name, &child_prefix, i + 1 == n, seen, out);
        }
    }
}

/// The lineage as a tree for people.
pub fn render(v: &ModelVersion, l: &Value) -> String {
    let mut s = format!("{}/{} {} ({})\n", v.group, v.number, v.version, v.status);
    let e = &l["execution"];
    s += &format!(
        "├─ execution {} (pipeline {}, trigger {}, code {})\n",
        e["id"].as_str().unwrap_or("?"),
        e["pipeline"].as_str().unwrap_or("?"),
        e["trigger"].as_str().unwrap_or("?"),
        e["code_version"].as_str().unwrap_or("?")
    );
    let d = &l["data"];
    s += &format!(
        "├─ data {} sha256 {} rows {} (split {})\n",
        d["path"].as_str().unwrap_or("?"),
        short(&d["digest"]),
        d["rows"],
        d["split"]
    );
    s += &format!(
        "├─ model {} on {}, tch {}, libtorch {}, tokenizer {}\n",
        l["architecture"].as_str().unwrap_or("?"),
        l["device"].as_str().unwrap_or("?"),
        l["versions"]["tch"].as_str().unwrap_or("?"),
        l["versions"]["libtorch"].as_str().unwrap_or("?"),
        short(&l["tokenizer_digest"])
    );
    s += &format!("├─ hyperparameters {}\n", l["hyperparameters"]);
    s += &format!("├─ parameters {}\n", e["parameters"]);
    s += &format!("├─ metrics {}\n", v.metrics);
    s += &format!(
        "└─ artifact {} (store digest {})\n",
        v.version,
        short(&json!(v.artifact_digest))
    );
    let mut seen = Vec::new();
    if let Some(parents) = l["parents"].as_object() {
        let n = parents.len();
        for (i, (name, p)) in parents.iter().enumerate() {
            render_tree(p, name, "   ", i + 1 == n, &mut seen, &mut s);
        }
    }
    s
}
