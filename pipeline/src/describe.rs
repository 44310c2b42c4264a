//! An execution explained: every step run with status, timing, cache decision, failure
//! reason and log excerpt, as text for people or as the manifest for tools; and the
//! short form `pipeline list` shows.
use crate::error::Result;
use crate::store::{ExecutionRecord, ExecutionStatus, MetadataStore, StepRecord};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// One line of `pipeline list`.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionListing {
    pub id: String,
    pub pipeline: String,
    pub status: ExecutionStatus,
    /// Executing, but the process that ran it is gone: `pipeline resume` continues it.
    pub interrupted: bool,
    pub trigger: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub failure_reason: Option<String>,
}

impl ExecutionListing {
    pub fn new(e: &ExecutionRecord) -> Self {
        ExecutionListing {
            id: e.id.clone(),
            pipeline: e.pipeline.clone(),
            status: e.status,
            interrupted: e.interrupted(),
            trigger: e.trigger.clone(),
            started_at: e.started_at.clone(),
            ended_at: e.ended_at.clone(),
            failure_reason: e.failure_reason.clone(),
        }
    }

    /// The status as people read it.
    pub fn status_text(&self) -> String {
        if self.interrupted {
            "Executing (interrupted)".to_string()
        } else {
            self.status.to_string()
        }
    }
}

/// The newest `limit` executions, newest first.
pub fn list_executions(store: &dyn MetadataStore, limit: usize) -> Result<Vec<ExecutionListing>> {
    Ok(store
        .executions(limit)?
        .iter()
        .map(ExecutionListing::new)
        .collect())
}

/// The execution's manifest with its store record (`record`) and step runs (`step_runs`).
pub fn describe_json(store: &dyn MetadataStore, e: &ExecutionRecord) -> Result<Value> {
    let steps = store.steps(&e.id)?;
    let mut m = e.manifest.clone().unwrap_or_else(|| serde_json::json!({}));
    m["record"] = serde_json::to_value(e).unwrap_or_default();
    m["step_runs"] = serde_json::to_value(&steps).unwrap_or_default();
    Ok(m)
}

/// The execution as text.
pub fn describe_text(store: &dyn MetadataStore, e: &ExecutionRecord) -> Result<String> {
    let steps = store.steps(&e.id)?;
    let mut s = String::new();
    let status = if e.interrupted() {
        "Executing (interrupted: resume it)".to_string()
    } else {
        e.status.to_string()
    };
    let _ = writeln!(s, "execution {} ({}): {status}", e.id, e.pipeline);
    let _ = writeln!(
        s,
        "  started {}  ended {}",
        e.started_at,
        e.ended_at.as_deref().unwrap_or("-")
    );
    let _ = writeln!(s, "  trigger {}  code {}", e.trigger, e.code_version);
    let _ = writeln!(s, "  parameters {}", e.parameters);
    if let Some(r) = &e.failure_reason {
        let _ = writeln!(s, "  failure: {r}");
    }
    for st in &steps {
        step_text(&mut s, st);
    }
    Ok(s)
}

fn step_text(s: &mut String, st: &StepRecord) {
    let _ = writeln!(
        s,
        "- {} [{}] {}  {:.2}s",
        st.step,
        st.kind,
        st.status,
        st.duration_s.unwrap_or(0.0)
    );
    if let Some(d) = &st.cache_decision {
        let _ = writeln!(s, "    cache: {d}");
    }
    for (name, digest) in &st.outputs {
        let _ = writeln!(s, "    output {name}: {}", &digest[..digest.len().min(16)]);
    }
    if let Some(board) = st.properties["leaderboard"].as_array() {
        // A tune step: the leaderboard as a table, the rest as JSON.
        let _ = writeln!(s, "    trials (best first):");
        for t in board {
            let score = match (t["score"]["mean"].as_f64(), t["score"]["std"].as_f64()) {
                (Some(m), Some(sd)) => format!("{m:.4} ± {sd:.4}"),
                _ => "-".into(),
            };
            let _ = writeln!(
                s,
                "      #{:<3} {:<9} {:>17}  {}",
                t["id"],
                t["status"].as_str().unwrap_or("?"),
                score,
                t["params"]
            );
        }
        let mut rest = st.properties.clone();
        if let Some(o) = rest.as_object_mut() {
            o.remove("leaderboard");
        }
        let _ = writeln!(s, "    properties: {rest}");
    } else if !st.properties.is_null() {
        let _ = writeln!(s, "    properties: {}", st.properties);
    }
    if let Some(r) = &st.failure_reason {
        let _ = writeln!(s, "    error: {r}");
    }
    let lines: Vec<&str> = st.log_excerpt.lines().collect();
    for line in &lines[lines.len().saturating_sub(6)..] {
        let _ = writeln!(s, "    | {line}");
    }
}
