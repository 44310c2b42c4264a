//! The configuration of a server: it aggregates each module's own configuration (batching,
//! limits, routing, capture, shadow, the monitor schedule) and adds what belongs to the
//! server as a whole. Built by the binary from its flags, or directly by tests and other
//! programs; nothing in this crate reads the environment. Only `server` reads it.
use crate::batcher::BatchConfig;
use crate::capture::CaptureConfig;
use crate::catalog::{ModelCatalog, PathCatalog};
use crate::endpoint::routing::RoutingConfig;
use crate::error::ServeError;
use crate::jobs::TransformJobs;
use crate::limits::Limits;
use crate::schedule::ScheduleConfig;
use crate::shadow::ShadowConfig;
use crate::variant::{
    validate_variant_name, validate_weight, VariantSource, VariantSpec, MAX_VARIANTS,
};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything `run` needs.
#[derive(Clone)]
pub struct ServeConfig {
    /// Endpoint name (labels history records, capture folders and logs).
    pub endpoint_name: String,
    /// 1–10 production variants.
    pub variants: Vec<VariantSpec>,
    pub batch: BatchConfig,
    pub limits: Limits,
    pub device: tch::Device,
    /// Bearer token of the management API; `None` disables it.
    pub admin_token: Option<SecretString>,
    /// Worker mode: serve the one model, no management API (fronted by a proxy).
    pub worker: bool,
    /// Deploy unapproved registry models at start-up.
    pub force: bool,
    /// Threads tokenizing requests (shared by all variants).
    pub tokenizer_threads: usize,
    pub catalog: Arc<dyn ModelCatalog>,
    /// Batch transform jobs (`POST /transform-jobs`): the `transform` crate's, confined to
    /// their roots; `None` answers 403.
    pub transform_jobs: Option<Arc<dyn TransformJobs>>,
    /// Sticky assignment of requests to variants.
    pub routing: RoutingConfig,
    /// Data capture (off by default).
    pub capture: Option<CaptureConfig>,
    /// State directory: experiment records and the feedback file (enables `POST /feedback`
    /// and `GET /experiments/{id}`).
    pub state_dir: Option<PathBuf>,
    /// Shadow traffic (off by default).
    pub shadow: Option<ShadowConfig>,
    /// The in-process drift monitor (needs capture).
    pub monitor: Option<ScheduleConfig>,
    /// Bearer token `POST /feedback` needs (the admin token is accepted too); `None`: open.
    pub feedback_token: Option<SecretString>,
    /// Bearer token `GET /experiments/{id}` needs (the admin token is accepted too).
    pub read_token: Option<SecretString>,
    /// Ground-truth records `POST /feedback` accepts per second on average.
    pub feedback_rate: f64,
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
            .field("transform_jobs", &self.transform_jobs.is_some())
            .field("routing", &self.routing)
            .field("capture", &self.capture)
            .field("state_dir", &self.state_dir)
            .field("shadow", &self.shadow)
            .field("monitor", &self.monitor)
            .field("feedback_token", &self.feedback_token)
            .field("read_token", &self.read_token)
            .field("feedback_rate", &self.feedback_rate)
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
            transform_jobs: None,
            routing: RoutingConfig::default(),
            capture: None,
            state_dir: None,
            shadow: None,
            monitor: None,
            feedback_token: None,
            read_token: None,
            feedback_rate: 1000.0,
        }
    }

    pub fn validate(&self) -> Result<(), ServeError> {
        let bad = |m: String| Err(ServeError::Config(m));
        let n = self.variants.len();
        if n == 0 || n > MAX_VARIANTS {
            return bad(format!(
                "an endpoint has 1 to {MAX_VARIANTS} variants, not {n}"
            ));
        }
        if self.worker && n != 1 {
            return bad("a worker serves exactly one model".into());
        }
        let mut names = std::collections::HashSet::new();
        for v in &self.variants {
            validate_variant_name(&v.name).map_err(ServeError::Config)?;
            validate_weight(v.weight).map_err(ServeError::Config)?;
            if !names.insert(&v.name) {
                return bad(format!("variant {:?} is given twice", v.name));
            }
            if self.worker && matches!(v.source, VariantSource::Upstream(_)) {
                return bad("a worker cannot front an upstream".into());
            }
        }
        if self.batch.max_batch_size == 0 || self.batch.queue_capacity == 0 {
            return bad("batch size and queue capacity must be positive".into());
        }
        self.limits.check().map_err(ServeError::Config)?;
        let local = self
            .variants
            .iter()
            .any(|v| matches!(v.source, VariantSource::Model(_)))
            || self.shadow.is_some();
        if local && self.limits.max_instances > self.batch.queue_capacity {
            return bad(format!(
                "--max-instances ({}) is above --queue-capacity ({}): a request with more \
                 instances than the queue holds could never be queued (429 forever); lower \
                 --max-instances or raise --queue-capacity",
                self.limits.max_instances, self.batch.queue_capacity
            ));
        }
        if let Some(s) = &self.shadow {
            validate_variant_name(&s.name).map_err(ServeError::Config)?;
            if !(0.0..=1.0).contains(&s.fraction) {
                return bad(format!(
                    "the shadow fraction is a share, 0–1, not {}",
                    s.fraction
                ));
            }
        }
        if let Some(c) = &self.capture {
            crate::capture::validate_sampling_percent(c.sampling_percent)
                .map_err(ServeError::Config)?;
        }
        if self.monitor.is_some() && self.capture.is_none() {
            return bad("the drift monitor needs data capture".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: &str) -> VariantSpec {
        VariantSpec {
            name: n.into(),
            source: VariantSource::Model("/m".into()),
            weight: 1.0,
        }
    }

    #[test]
    fn validation_bounds_variants() {
        assert!(ServeConfig::new(vec![]).validate().is_err());
        assert!(ServeConfig::new(vec![v("a"), v("a")]).validate().is_err());
        assert!(
            ServeConfig::new((0..11).map(|i| v(&format!("v{i}"))).collect())
                .validate()
                .is_err()
        );
        assert!(ServeConfig::new(vec![v("a"), v("b")]).validate().is_ok());
    }

    #[test]
    fn instances_must_fit_the_queue() {
        let mut c = ServeConfig::new(vec![v("a")]);
        c.limits.max_instances = 100;
        c.batch.queue_capacity = 99;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("--max-instances (100)"), "{e}");
        assert!(e.contains("--queue-capacity (99)"), "{e}");
        c.batch.queue_capacity = 100;
        c.validate().unwrap();
        // An endpoint of remote workers only has no queue of its own.
        c.batch.queue_capacity = 1;
        c.variants[0].source = VariantSource::Upstream("http://w:1".into());
        c.validate().unwrap();
    }

    #[test]
    fn the_token_is_redacted() {
        let mut c = ServeConfig::new(vec![v("a")]);
        c.admin_token = Some(SecretString::from("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
