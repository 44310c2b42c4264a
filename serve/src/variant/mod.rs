//! A variant's deployed model: in-process (a `Batcher`) or a remote worker. An endpoint
//! holds `Arc<Deployed>`; swapping a variant replaces the `Arc`, and the old deployment is
//! drained simply by in-flight requests finishing with their clone of it.
mod remote;

pub use remote::Remote;

use crate::batcher::{BatchConfig, Batcher, TokenizerPool};
use crate::catalog::ModelCatalog;
use crate::error::ServeError;
use crate::limits::Limits;
use crate::telemetry::VariantMetrics;
use serde::Serialize;

/// Most production variants per endpoint (SageMaker's limit).
pub const MAX_VARIANTS: usize = 10;

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

/// Where a deployment's predictions come from.
pub enum Backend {
    Local(Batcher),
    Remote(Box<Remote>),
}

/// One loaded model version behind a variant.
pub struct Deployed {
    pub backend: Backend,
    /// What was deployed: an artifact path, a registry reference, or an upstream URL.
    pub reference: String,
    pub model_version: String,
    pub labels: Vec<String>,
    pub metrics: VariantMetrics,
    pub deployed_at: chrono::DateTime<chrono::Utc>,
    /// The artifact directory of a local model.
    pub artifact: Option<std::path::PathBuf>,
}

/// What a client sees of a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedInfo {
    pub kind: &'static str,
    pub reference: String,
    pub model_version: String,
    pub labels: Vec<String>,
    pub healthy: bool,
    pub deployed_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batcher: Option<crate::batcher::BatcherStats>,
}

/// What loading needs.
#[derive(Clone)]
pub struct LoadContext {
    pub device: tch::Device,
    pub batch: BatchConfig,
    pub limits: Limits,
    pub pool: TokenizerPool,
    pub catalog: std::sync::Arc<dyn ModelCatalog>,
}

impl Deployed {
    /// Loads and warms a variant's model (or connects to its worker). Nothing is served
    /// from it before this returns.
    pub async fn load(
        variant: &str,
        source: &VariantSource,
        force: bool,
        ctx: &LoadContext,
    ) -> Result<Deployed, ServeError> {
        let mut artifact = None;
        let (backend, reference, version, labels) = match source {
            VariantSource::Model(reference) => {
                let resolved = ctx.catalog.resolve(reference, force)?;
                let b = Batcher::load(
                    &resolved.path,
                    ctx.device,
                    variant,
                    ctx.batch.clone(),
                    ctx.pool.clone(),
                )
                .await
                .map_err(|e| match e {
                    ServeError::ModelLoad { source, .. } => ServeError::ModelLoad {
                        reference: reference.clone(),
                        source,
                    },
                    other => other,
                })?;
                let info = b.info().clone();
                artifact = Some(resolved.path.clone());
                (
                    Backend::Local(b),
                    reference.clone(),
                    info.version,
                    info.labels,
                )
            }
            VariantSource::Upstream(url) => {
                let (r, version, labels) = Remote::connect(url, variant, &ctx.limits).await?;
                (Backend::Remote(Box::new(r)), url.clone(), version, labels)
            }
        };
        Ok(Deployed {
            metrics: VariantMetrics::new(variant, &version),
            backend,
            reference,
            model_version: version,
            labels,
            deployed_at: chrono::Utc::now(),
            artifact,
        })
    }

    /// Loaded and warmed (local), or answering its health check (remote).
    pub fn healthy(&self) -> bool {
        match &self.backend {
            Backend::Local(_) => true,
            Backend::Remote(r) => r.healthy(),
        }
    }

    pub fn info(&self) -> DeployedInfo {
        let (kind, architecture, batcher) = match &self.backend {
            Backend::Local(b) => (
                "local",
                Some(b.info().architecture.clone()),
                Some(b.stats()),
            ),
            Backend::Remote(_) => ("remote", None, None),
        };
        DeployedInfo {
            kind,
            reference: self.reference.clone(),
            model_version: self.model_version.clone(),
            labels: self.labels.clone(),
            healthy: self.healthy(),
            deployed_at: self.deployed_at,
            architecture,
            batcher,
        }
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
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(validate_weight(bad).is_err(), "{bad}");
        }
    }
}
