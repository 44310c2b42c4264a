//! Typed configuration of a server. Built by the CLI (`cli.rs`) or directly by tests and
//! other crates; nothing below reads the environment.
use crate::batcher::BatchConfig;
use crate::catalog::{ModelCatalog, PathCatalog};
use crate::error::ServeError;
use std::sync::Arc;
use std::time::Duration;

/// Most production variants per endpoint (SageMaker's limit).
pub const MAX_VARIANTS: usize = 10;

/// Everything `run` needs.
#[derive(Clone)]
pub struct ServeConfig {
    /// Endpoint name (labels history records and logs).
    pub endpoint_name: String,
    /// 1–10 production variants.
    pub variants: Vec<VariantSpec>,
    pub batch: BatchConfig,
    pub limits: Limits,
    pub device: tch::Device,
    /// Bearer token of the management API; `None` disables it.
    pub admin_token: Option<Secret>,
    /// Worker mode: serve the one model, no management API (fronted by a proxy).
    pub worker: bool,
    /// Deploy unapproved registry models at start-up.
    pub force: bool,
    /// Threads tokenizing requests (shared by all variants).
    pub tokenizer_threads: usize,
    pub catalog: Arc<dyn ModelCatalog>,
    /// Folders that transform jobs (`POST /transform-jobs`) may read and write.
    pub transform_roots: Vec<std::path::PathBuf>,
    /// Data capture, experiments, shadow and drift monitoring (all off by default).
    pub observe: crate::observe::ObserveConfig,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("endpoint_name", &self.endpoint_name)
            .field("variants", &self.variants)
            .field("batch", &self.batch)
            .field("limits", &self.limits)
            .field("device", &self.device)
            .field("admin_token", &self.admin_token)
            .field("worker", &self.worker)
            .field("force", &self.force)
            .field("tokenizer_threads", &self.tokenizer_threads)
            .field("transform_roots", &self.transform_roots)
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}

impl ServeConfig {
    /// A configuration with defaults serving `variants`, resolved by path.
    pub fn new(variants: Vec<VariantSpec>) -> Self {
        ServeConfig {
            endpoint_name: "sentio".into(),
            variants,
            batch: BatchConfig::default(),
            limits: Limits::default(),
            device: tch::Device::Cpu,
            admin_token: None,
            worker: false,
            force: false,
            tokenizer_threads: 1,
            catalog: Arc::new(PathCatalog::default()),
            transform_roots: Vec::new(),
            observe: Default::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ServeError> {
        let n = self.variants.len();
        if n == 0 || n > MAX_VARIANTS {
            return Err(ServeError::Config(format!(
                "an endpoint has 1 to {MAX_VARIANTS} variants, not {n}"
            )));
        }
        if self.worker && n != 1 {
            return Err(ServeError::Config(
                "a worker serves exactly one model".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for v in &self.variants {
            validate_variant_name(&v.name).map_err(ServeError::Config)?;
            validate_weight(v.weight).map_err(ServeError::Config)?;
            if !names.insert(&v.name) {
                return Err(ServeError::Config(format!(
                    "variant {:?} is given twice",
                    v.name
                )));
            }
            if self.worker && matches!(v.source, VariantSource::Upstream(_)) {
                return Err(ServeError::Config(
                    "a worker cannot front an upstream".into(),
                ));
            }
        }
        if self.batch.max_batch_size == 0 || self.batch.queue_capacity == 0 {
            return Err(ServeError::Config(
                "batch size and queue capacity must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// One production variant.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantSpec {
    pub name: String,
    pub source: VariantSource,
    /// Share of traffic = weight / sum of weights (≥ 0; 0 takes only targeted traffic).
    pub weight: f64,
}

/// Where a variant's model runs.
#[derive(Debug, Clone, PartialEq)]
pub enum VariantSource {
    /// In this process: an artifact path or a catalog reference.
    Model(String),
    /// A remote `sentio serve --worker` at this base URL (`http://host:port`).
    Upstream(String),
}

/// Request limits of the front proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Request body limit (SageMaker: 6 MiB).
    pub max_body_bytes: usize,
    /// Requests in flight at once; beyond it requests are shed with 429.
    pub max_concurrency: usize,
    /// Most instances (texts) in one request.
    pub max_instances: usize,
    /// Per-request time limit (SageMaker: 60 s).
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
    /// Retry-After seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// Time limit of one call to a remote worker.
    pub upstream_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 6 * 1024 * 1024,
            max_concurrency: 512,
            max_instances: 1000,
            request_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(25),
            retry_after_secs: 1,
            upstream_timeout: Duration::from_secs(55),
        }
    }
}

/// A secret string: redacted in `Debug`, compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison (for the length-equal case).
    pub fn matches(&self, candidate: &str) -> bool {
        let a = self.0.as_bytes();
        let b = candidate.as_bytes();
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// SageMaker's variant name rule: `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, at most 63 characters.
pub fn validate_variant_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "variant name {name:?} must match [a-zA-Z0-9](-*[a-zA-Z0-9])* and have at most 63 characters"
        ))
    }
}

pub fn validate_weight(w: f64) -> Result<(), String> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(format!("weight {w} must be a finite number ≥ 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_follow_sagemaker() {
        for ok in ["AllTraffic", "a", "blue-2", "a--b"] {
            assert!(validate_variant_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a_b", "a b", &"x".repeat(64)] {
            assert!(validate_variant_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_redacted_and_compared() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(s.matches("hunter2"));
        assert!(!s.matches("hunter3") && !s.matches("hunter"));
    }

    #[test]
    fn validation_bounds_variants() {
        let v = |n: &str| VariantSpec {
            name: n.into(),
            source: VariantSource::Model("/m".into()),
            weight: 1.0,
        };
        assert!(ServeConfig::new(vec![]).validate().is_err());
        assert!(ServeConfig::new(vec![v("a"), v("a")]).validate().is_err());
        assert!(
            ServeConfig::new((0..11).map(|i| v(&format!("v{i}"))).collect())
                .validate()
                .is_err()
        );
        assert!(ServeConfig::new(vec![v("a"), v("b")]).validate().is_ok());
    }
}
