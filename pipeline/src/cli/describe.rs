//! `pipeline describe`: an execution as text (or its manifest as JSON).
use crate::error::{PipelineError, Result};
use crate::store::MetadataStore;
use std::fmt::Write;

/// Every step run of an execution with status, timing, cache decision, failure reason
/// and log excerpt.
pub fn describe(store: &dyn MetadataStore, id: &str, json: bool) -> Result<String> {
    let e = store
        .execution(id)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "execution",
            id: id.to_string(),
        })?;
    let steps = store.steps(&e.id)?;
    if json {
        let mut m = e.manifest.clone().unwrap_or_else(|| serde_json::json!({}));
        m["record"] = serde_json::to_value(&e).unwrap_or_default();
        m["step_runs"] = serde_json::to_value(&steps).unwrap_or_default();
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&m).unwrap_or_default()
        ));
    }
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
        if !st.properties.is_null() {
            let _ = writeln!(s, "    properties: {}", st.properties);
        }
        if let Some(r) = &st.failure_reason {
            let _ = writeln!(s, "    error: {r}");
        }
        if !st.log_excerpt.is_empty() {
            for line in st
                .log_excerpt
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                let _ = writeln!(s, "    | {line}");
            }
        }
    }
    Ok(s)
}
