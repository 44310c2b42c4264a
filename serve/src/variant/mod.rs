//! A variant's deployed model: in-process (a `Batcher`) or a remote worker. An endpoint
//! holds `Arc<Deployed>`; swapping a variant replaces the `Arc`, and the old deployment is
//! drained simply by in-flight requests finishing with their clone of it.
mod remote;

pub use remote::Remote;

use crate::batcher::{BatchConfig, Batcher, TokenizerPool};
use crate::catalog::ModelCatalog;
use crate::config::{Limits, VariantSource};
use crate::error::ServeError;
use crate::telemetry::VariantMetrics;
use serde::Serialize;

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
