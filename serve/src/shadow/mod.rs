//! Shadow traffic: a sampled copy of one production variant's requests goes to a shadow
//! model. The copy runs in a spawned task after the caller has its response; a bounded
//! number of copies run at once and one beyond it is dropped (counted), so the shadow never
//! slows or changes what the caller gets. Agreement of the shadow's labels with the
//! production labels is counted here and its responses are captured (marked `shadow`).
use crate::telemetry::{SHADOW_AGREEMENTS, SHADOW_COMPARED, SHADOW_DROPPED, SHADOW_REQUESTS};
use crate::variant::{Backend, Deployed};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Which variant is shadowed by which model, and how much of its traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowConfig {
    /// Name of the shadow (its capture folder and metric label).
    pub name: String,
    /// Model reference of the shadow (artifact path or registry reference).
    pub model: String,
    /// The production variant whose traffic is copied.
    pub production: String,
    /// Share of that traffic copied, 0–1.
    pub fraction: f64,
    /// Copies running at once, at most.
    pub max_in_flight: usize,
}

/// Counters of the shadow.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ShadowCounts {
    pub copied: u64,
    pub dropped: u64,
    pub failed: u64,
    pub compared: u64,
    pub agreed: u64,
}

#[derive(Default)]
struct Counters {
    copied: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    compared: AtomicU64,
    agreed: AtomicU64,
}

/// The live shadow: its model (loaded after start-up) and counters.
pub struct Shadow {
    pub config: ShadowConfig,
    deployed: OnceLock<Arc<Deployed>>,
    permits: Arc<Semaphore>,
    counters: Counters,
}

/// One copied request, ready to run.
pub struct ShadowJob {
    pub texts: Vec<String>,
    permit: tokio::sync::OwnedSemaphorePermit,
    deployed: Arc<Deployed>,
}

/// What a finished shadow call produced.
pub struct ShadowOutcome {
    pub labels: Vec<Option<String>>,
    pub body: bytes::Bytes,
    pub status: u16,
    pub model_version: String,
    pub latency: std::time::Duration,
}

impl Shadow {
    pub fn new(config: ShadowConfig) -> Shadow {
        let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
        crate::telemetry::register_shadow(&config.name);
        Shadow {
            config,
            deployed: OnceLock::new(),
            permits,
            counters: Counters::default(),
        }
    }

    /// Installs the loaded shadow model.
    pub fn set_model(&self, deployed: Arc<Deployed>) {
        let _ = self.deployed.set(deployed);
    }

    /// Decides whether this request of `variant` is copied; clones its texts only then.
    /// `None` when not sampled, not loaded yet, or too many copies are running (dropped).
    pub fn select(&self, variant: &str, texts: &[String]) -> Option<ShadowJob> {
        if variant != self.config.production
            || !(self.config.fraction >= 1.0 || rand::random::<f64>() < self.config.fraction)
        {
            return None;
        }
        let deployed = self.deployed.get()?.clone();
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                self.counters.copied.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(SHADOW_REQUESTS, "shadow" => self.config.name.clone())
                    .increment(1);
                Some(ShadowJob {
                    texts: texts.to_vec(),
                    permit,
                    deployed,
                })
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(SHADOW_DROPPED, "shadow" => self.config.name.clone())
                    .increment(1);
                None
            }
        }
    }

    /// Runs a copied request and compares it with the production labels.
    pub async fn run(&self, job: ShadowJob, production: &[Option<String>]) -> ShadowOutcome {
        let t = std::time::Instant::now();
        let ShadowJob {
            texts,
            permit,
            deployed,
        } = job;
        let result = match &deployed.backend {
            Backend::Local(b) => b.try_predict(texts).await,
            Backend::Remote(_) => Err(crate::error::ServeError::Invalid(
                "a shadow must be an in-process model".into(),
            )),
        };
        drop(permit);
        let latency = t.elapsed();
        let (labels, body, status) = match result {
            Ok(items) => {
                let labels: Vec<Option<String>> = items
                    .iter()
                    .map(|r| r.as_ref().ok().map(|p| p.label.clone()))
                    .collect();
                let body = serde_json::to_vec(&serde_json::json!({
                    "predictions": labels.iter().map(|l| serde_json::json!({"label": l})).collect::<Vec<_>>(),
                    "model_version": deployed.model_version,
                    "variant": self.config.name,
                }))
                .unwrap_or_default();
                (labels, body.into(), 200)
            }
            Err(e) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                let status = e.status().as_u16();
                (Vec::new(), e.to_json().to_string().into(), status)
            }
        };
        let (mut compared, mut agreed) = (0, 0);
        for (s, p) in labels.iter().zip(production) {
            if let (Some(s), Some(p)) = (s, p) {
                compared += 1;
                agreed += u64::from(s == p);
            }
        }
        self.counters
            .compared
            .fetch_add(compared, Ordering::Relaxed);
        self.counters.agreed.fetch_add(agreed, Ordering::Relaxed);
        let name = self.config.name.clone();
        metrics::counter!(SHADOW_COMPARED, "shadow" => name.clone()).increment(compared);
        metrics::counter!(SHADOW_AGREEMENTS, "shadow" => name).increment(agreed);
        ShadowOutcome {
            labels,
            body,
            status,
            model_version: deployed.model_version.clone(),
            latency,
        }
    }

    pub fn counts(&self) -> ShadowCounts {
        let c = &self.counters;
        ShadowCounts {
            copied: c.copied.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            compared: c.compared.load(Ordering::Relaxed),
            agreed: c.agreed.load(Ordering::Relaxed),
        }
    }
}
