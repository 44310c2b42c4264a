//! The endpoint: its variants with weights, routing ([`routing`]), health, and the
//! management operations (weights, add, remove, deploy with atomic swap). Loading happens
//! outside the lock; the swap itself is replacing one `Arc` under a short write lock.
pub mod routing;

use crate::catalog::DeploymentRecord;
use crate::error::ServeError;
use crate::variant::{
    validate_variant_name, validate_weight, Deployed, DeployedInfo, LoadContext, VariantSource,
    MAX_VARIANTS,
};
use routing::{Pick, Route};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

/// Lifecycle of the endpoint, as /ping reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Starting = 0,
    Ready = 1,
    Draining = 2,
}

struct Slot {
    name: String,
    weight: f64,
    deployed: Arc<Deployed>,
}

/// A routed variant for one request.
pub struct Routed {
    pub variant: String,
    pub deployed: Arc<Deployed>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantInfo {
    pub name: String,
    pub weight: f64,
    pub share: f64,
    #[serde(flatten)]
    pub deployed: DeployedInfo,
}

pub struct Endpoint {
    pub name: String,
    slots: RwLock<Vec<Slot>>,
    /// The artifact directory of every local model version loaded since start.
    artifacts: std::sync::Mutex<HashMap<String, std::path::PathBuf>>,
    phase: AtomicU8,
    /// Serialises management operations (loads may take seconds).
    admin: tokio::sync::Mutex<()>,
    ctx: LoadContext,
}

impl Endpoint {
    pub fn new(name: String, ctx: LoadContext) -> Self {
        Endpoint {
            name,
            slots: RwLock::new(Vec::new()),
            artifacts: Default::default(),
            phase: AtomicU8::new(Phase::Starting as u8),
            admin: tokio::sync::Mutex::new(()),
            ctx,
        }
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Draining,
        }
    }

    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Release);
        crate::telemetry::set_ready(p == Phase::Ready);
    }

    /// Ready, with every variant loaded and healthy.
    pub fn healthy(&self) -> bool {
        self.phase() == Phase::Ready && {
            let slots = self.read();
            !slots.is_empty() && slots.iter().all(|s| s.deployed.healthy())
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Slot>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Slot>> {
        self.slots.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The variant that answers a request ([`routing::pick_variant`]). A draining endpoint
    /// still answers: shutdown keeps serving through its grace period and drain.
    pub fn route(&self, route: Route<'_>) -> Result<Routed, ServeError> {
        if self.phase() == Phase::Starting {
            return Err(ServeError::Unavailable(
                format!("the endpoint is {:?}", self.phase()).to_lowercase(),
            ));
        }
        let slots = self.read();
        let weights = slots.iter().map(|s| (s.name.as_str(), s.weight));
        let i =
            match routing::pick_variant(route, weights) {
                Pick::Variant(i) => i,
                Pick::UnknownTarget => {
                    return Err(ServeError::UnknownVariant(
                        route.target.unwrap_or_default().into(),
                    ))
                }
                Pick::NoWeight => return Err(ServeError::Unavailable(
                    "every variant has weight 0; target one with X-Amzn-SageMaker-Target-Variant"
                        .into(),
                )),
            };
        Ok(Routed {
            variant: slots[i].name.clone(),
            deployed: slots[i].deployed.clone(),
        })
    }

    pub fn describe(&self) -> Vec<VariantInfo> {
        let slots = self.read();
        let total: f64 = slots.iter().map(|s| s.weight).sum();
        slots
            .iter()
            .map(|s| VariantInfo {
                name: s.name.clone(),
                weight: s.weight,
                share: if total > 0.0 { s.weight / total } else { 0.0 },
                deployed: s.deployed.info(),
            })
            .collect()
    }

    /// Adds a variant (loading it first). Used at start-up too.
    pub async fn add_variant(
        &self,
        name: &str,
        source: &VariantSource,
        weight: f64,
        force: bool,
    ) -> Result<VariantInfo, ServeError> {
        validate_variant_name(name).map_err(ServeError::Invalid)?;
        validate_weight(weight).map_err(ServeError::Invalid)?;
        let _admin = self.admin.lock().await;
        {
            let slots = self.read();
            if slots.iter().any(|s| s.name == name) {
                return Err(ServeError::Conflict(format!("variant {name:?} exists")));
            }
            if slots.len() >= MAX_VARIANTS {
                return Err(ServeError::Conflict(format!(
                    "an endpoint has at most {MAX_VARIANTS} variants"
                )));
            }
        }
        let loaded = Deployed::load(name, source, force, &self.ctx).await;
        let reference = source_ref(source);
        let deployed = match loaded {
            Ok(d) => Arc::new(d),
            Err(e) => {
                self.record(
                    name,
                    "add",
                    Some(reference),
                    None,
                    None,
                    Some(weight),
                    Err(&e),
                );
                return Err(e);
            }
        };
        let version = deployed.model_version.clone();
        self.remember(&deployed);
        self.write().push(Slot {
            name: name.to_string(),
            weight,
            deployed,
        });
        self.record(
            name,
            "add",
            Some(reference),
            Some(version),
            None,
            Some(weight),
            Ok(()),
        );
        self.info_of(name)
    }

    /// Removes a variant; its in-flight requests finish on their own clone.
    pub async fn remove_variant(&self, name: &str) -> Result<(), ServeError> {
        let _admin = self.admin.lock().await;
        let removed = {
            let mut slots = self.write();
            let i = slots
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| ServeError::NotFound(format!("variant {name:?}")))?;
            if slots.len() == 1 {
                return Err(ServeError::Conflict(
                    "cannot remove the last variant".into(),
                ));
            }
            slots.remove(i)
        };
        self.record(
            name,
            "remove",
            Some(removed.deployed.reference.clone()),
            None,
            Some(removed.deployed.model_version.clone()),
            None,
            Ok(()),
        );
        Ok(())
    }

    /// Sets new weights for the named variants (others keep theirs).
    pub async fn update_weights(
        &self,
        weights: &HashMap<String, f64>,
    ) -> Result<Vec<VariantInfo>, ServeError> {
        let _admin = self.admin.lock().await;
        {
            let mut slots = self.write();
            for (name, w) in weights {
                validate_weight(*w).map_err(ServeError::Invalid)?;
                if !slots.iter().any(|s| &s.name == name) {
                    return Err(ServeError::Invalid(format!("unknown variant {name:?}")));
                }
            }
            for s in slots.iter_mut() {
                if let Some(w) = weights.get(&s.name) {
                    s.weight = *w;
                }
            }
        }
        for (name, w) in weights {
            self.record(name, "weights", None, None, None, Some(*w), Ok(()));
        }
        Ok(self.describe())
    }

    /// Deploys a new model to a variant: load and warm it, swap it in, let the old one
    /// drain. If loading fails, the old deployment keeps serving.
    pub async fn deploy(
        &self,
        name: &str,
        source: &VariantSource,
        force: bool,
    ) -> Result<VariantInfo, ServeError> {
        let _admin = self.admin.lock().await;
        let previous = {
            let slots = self.read();
            slots
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.deployed.model_version.clone())
                .ok_or_else(|| ServeError::NotFound(format!("variant {name:?}")))?
        };
        let reference = source_ref(source);
        let deployed = match Deployed::load(name, source, force, &self.ctx).await {
            Ok(d) => Arc::new(d),
            Err(e) => {
                tracing::warn!(variant = name, error = %e, "deployment failed; the previous model keeps serving");
                self.record(
                    name,
                    "deploy",
                    Some(reference),
                    None,
                    Some(previous),
                    None,
                    Err(&e),
                );
                return Err(e);
            }
        };
        let version = deployed.model_version.clone();
        self.remember(&deployed);
        let old = {
            let mut slots = self.write();
            match slots.iter_mut().find(|s| s.name == name) {
                Some(s) => std::mem::replace(&mut s.deployed, deployed),
                None => return Err(ServeError::NotFound(format!("variant {name:?}"))),
            }
        };
        tracing::info!(variant = name, from = %old.model_version, to = %version, "model swapped; draining the previous one");
        drop(old);
        self.record(
            name,
            "deploy",
            Some(reference),
            Some(version),
            Some(previous),
            None,
            Ok(()),
        );
        self.info_of(name)
    }

    fn info_of(&self, name: &str) -> Result<VariantInfo, ServeError> {
        self.describe()
            .into_iter()
            .find(|v| v.name == name)
            .ok_or_else(|| ServeError::NotFound(format!("variant {name:?}")))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        variant: &str,
        action: &str,
        reference: Option<String>,
        model_version: Option<String>,
        previous_version: Option<String>,
        weight: Option<f64>,
        outcome: Result<(), &ServeError>,
    ) {
        let record = DeploymentRecord {
            endpoint: self.name.clone(),
            variant: variant.to_string(),
            action: action.to_string(),
            reference,
            model_version,
            previous_version,
            weight,
            outcome: match outcome {
                Ok(()) => "succeeded".into(),
                Err(e) => format!("failed: {e}"),
            },
            at: chrono::Utc::now(),
        };
        if let Err(e) = self.ctx.catalog.record_deployment(&record) {
            tracing::warn!(error = %e, variant, action, "cannot record the deployment");
        }
    }

    /// The artifact directory of a model version this endpoint serves or served.
    pub fn model_dir(&self, version: &str) -> Option<std::path::PathBuf> {
        self.artifacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(version)
            .cloned()
    }

    fn remember(&self, d: &Deployed) {
        if let Some(a) = &d.artifact {
            self.artifacts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(d.model_version.clone(), a.clone());
        }
    }

    /// Records a step that is not one of the management operations (a canary's
    /// `canary`, `promote`, `retire`) in the deployment history.
    pub fn record_action(&self, variant: &str, action: &str, reference: Option<&str>) {
        let version = self
            .read()
            .iter()
            .find(|s| s.name == variant)
            .map(|s| s.deployed.model_version.clone());
        self.record(
            variant,
            action,
            reference.map(String::from),
            version,
            None,
            None,
            Ok(()),
        );
    }

    pub fn history(&self) -> Vec<DeploymentRecord> {
        self.ctx.catalog.history()
    }

    pub fn context(&self) -> &LoadContext {
        &self.ctx
    }
}

fn source_ref(source: &VariantSource) -> String {
    match source {
        VariantSource::Model(r) | VariantSource::Upstream(r) => r.clone(),
    }
}
