//! Step caching: the key (step type, configuration, input digests, code version), the
//! expiry, and an explanation of every decision, because silent misses are the top
//! complaint about other pipeline caches.
use crate::store::StepRecord;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// `--no-cache` and the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub enabled: bool,
    /// Results older than this are not reused (`None`: never expire).
    pub expire_after: Option<Duration>,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            enabled: true,
            expire_after: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// What the key is computed from, kept so a later miss can say which part changed.
pub fn key_parts(
    kind: &str,
    config: &Value,
    inputs: &BTreeMap<String, String>,
    code_version: &str,
) -> Value {
    json!({"type": kind, "config": config, "inputs": inputs, "code_version": code_version})
}

/// JSON with object keys sorted, whatever map type serde_json was built with.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

pub fn key(parts: &Value) -> String {
    hex::encode(Sha256::digest(canonical(parts).as_bytes()))
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// Seconds since an RFC 3339 time.
pub fn age(started_at: &str) -> Option<Duration> {
    let t = chrono::DateTime::parse_from_rfc3339(started_at).ok()?;
    (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .to_std()
        .ok()
}

pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Why this key differs from the previous successful run of the same step.
/// `config_params` maps config keys to the parameters they came from.
pub fn explain_miss(
    previous: Option<&StepRecord>,
    parts: &Value,
    config_params: &BTreeMap<String, String>,
) -> String {
    let Some(prev) = previous else {
        return "miss: no earlier successful run of this step".into();
    };
    let Some(old) = prev.key_parts.as_ref() else {
        return format!(
            "miss: the earlier run (execution {}) recorded no cache key",
            short(&prev.execution_id)
        );
    };
    let mut why = Vec::new();
    if old["type"] != parts["type"] {
        why.push(format!(
            "step type changed: {} → {}",
            old["type"], parts["type"]
        ));
    }
    if old["code_version"] != parts["code_version"] {
        why.push(format!(
            "code version changed: {} → {}",
            old["code_version"].as_str().unwrap_or("?"),
            parts["code_version"].as_str().unwrap_or("?")
        ));
    }
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut cfg_keys = keys(&old["config"]);
    cfg_keys.extend(keys(&parts["config"]));
    cfg_keys.sort();
    cfg_keys.dedup();
    for k in cfg_keys {
        let (a, b) = (&old["config"][&k], &parts["config"][&k]);
        if canonical(a) != canonical(b) {
            let show = |v: &Value| {
                if v.is_null() {
                    "(unset)".to_string()
                } else {
                    v.to_string()
                }
            };
            match config_params.get(&k) {
                Some(p) => why.push(format!("parameter {p} changed: {} → {}", show(a), show(b))),
                None => why.push(format!("config {k} changed: {} → {}", show(a), show(b))),
            }
        }
    }
    let mut in_keys = keys(&old["inputs"]);
    in_keys.extend(keys(&parts["inputs"]));
    in_keys.sort();
    in_keys.dedup();
    for k in in_keys {
        let (a, b) = (
            old["inputs"][&k].as_str().unwrap_or("-"),
            parts["inputs"][&k].as_str().unwrap_or("-"),
        );
        if a != b {
            why.push(format!("input {k} changed: {} → {}", short(a), short(b)));
        }
    }
    if why.is_empty() {
        format!(
            "miss: same key as execution {}, but that run was itself answered from the cache or its result is gone",
            prev.execution_id
        )
    } else {
        format!(
            "miss (vs execution {}): {}",
            short(&prev.execution_id),
            why.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_order_independent_and_miss_names_the_part() {
        let a = json!({"b": 1, "a": {"y": 2, "x": 1}});
        let b = json!({"a": {"x": 1, "y": 2}, "b": 1});
        assert_eq!(key(&a), key(&b));
        let mut inputs = BTreeMap::new();
        inputs.insert("data".to_string(), "aaaa".to_string());
        let old = key_parts("train", &json!({"epochs": 2}), &inputs, "0.1.0+abc");
        let prev = StepRecord {
            id: 1,
            execution_id: "e1".into(),
            step: "train".into(),
            kind: "train".into(),
            status: crate::store::StepStatus::Succeeded,
            cache_key: Some(key(&old)),
            key_parts: Some(old),
            cache_decision: None,
            cached_from: None,
            outputs: BTreeMap::new(),
            properties: Value::Null,
            started_at: crate::store::now(),
            ended_at: None,
            duration_s: None,
            log_excerpt: String::new(),
            failure_reason: None,
        };
        let mut params = BTreeMap::new();
        params.insert("epochs".to_string(), "epochs".to_string());
        inputs.insert("data".to_string(), "bbbb".to_string());
        let new = key_parts("train", &json!({"epochs": 3}), &inputs, "0.1.0+def");
        let why = explain_miss(Some(&prev), &new, &params);
        assert!(why.contains("parameter epochs changed: 2 → 3"), "{why}");
        assert!(why.contains("input data changed: aaaa → bbbb"), "{why}");
        assert!(
            why.contains("code version changed: 0.1.0+abc → 0.1.0+def"),
            "{why}"
        );
        assert!(explain_miss(None, &new, &params).contains("no earlier"));
        assert_eq!(human(Duration::from_secs(3 * 86_400)), "3d");
    }
}
