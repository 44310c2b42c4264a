//! Model performance of a registered version, from its package: the test split's
//! confusion matrix and per-class precision/recall/F1 (`evaluation.json`), the training
//! curves per epoch (`metadata.json`), and the same for a second version to compare.
use super::{metrics_of, VersionRef};
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use crate::redact::redact_json;
use models::metrics::ClassReport;
use pipeline::store::ModelVersion;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parts of a package's `evaluation.json` shown (as `models::Evaluation::to_json`
/// writes it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalView {
    pub n: usize,
    #[serde(rename = "classification_report")]
    pub per_class: Vec<ClassReport>,
    pub confusion_matrix: ConfusionMatrix,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfusionMatrix {
    pub labels: Vec<String>,
    pub matrix: Vec<Vec<usize>>,
}

/// One epoch of training (`metadata.json` → `training.history`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Epoch {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_macro_f1: f64,
    pub validation_accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSide {
    pub version: VersionRef,
    pub created_at: String,
    pub metrics: BTreeMap<String, f64>,
    pub evaluation: Option<EvalView>,
    pub training: Vec<Epoch>,
    pub best_epoch: Option<u64>,
    pub architecture: Option<String>,
    pub hyperparameters: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    #[serde(flatten)]
    pub model: ModelSide,
    pub compare: Option<ModelSide>,
    /// The group's versions (to pick one to compare with).
    pub group_versions: Vec<VersionRef>,
}

fn side(app: &App, v: &ModelVersion) -> ModelSide {
    // Fetched into the home's cache when the artifacts live in object storage.
    let dir = app.stores.artifacts.fetch(&v.artifact_digest).ok();
    let read = |name: &str| -> Option<Value> {
        let bytes = std::fs::read(dir.as_ref()?.join(name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let evaluation = read("evaluation.json").and_then(|e| serde_json::from_value(e).ok());
    let meta = read("metadata.json").unwrap_or(Value::Null);
    let training = serde_json::from_value(meta["training"]["history"].clone()).unwrap_or_default();
    ModelSide {
        version: VersionRef::new(v),
        created_at: v.created_at.clone(),
        metrics: metrics_of(v),
        evaluation,
        training,
        best_epoch: meta["training"]["best_epoch"].as_u64(),
        architecture: meta["architecture"].as_str().map(str::to_string),
        hyperparameters: redact_json(&meta["hyperparameters"]),
    }
}

pub async fn gather(app: &Arc<App>, version: String, compare: Option<String>) -> Result<ModelView> {
    blocking(app, move |app| {
        let store = &*app.stores.metadata;
        let find = |id: &str| {
            store
                .version(id)?
                .ok_or_else(|| ConsoleError::NotFound(format!("no model version {id:?}")))
        };
        let v = find(&version)?;
        let compare = match compare.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(side(app, &find(c)?)),
            None => None,
        };
        let mut group_versions: Vec<VersionRef> = store
            .versions(Some(&v.group))?
            .iter()
            .map(VersionRef::new)
            .collect();
        group_versions.reverse();
        Ok(ModelView {
            model: side(app, &v),
            compare,
            group_versions,
        })
    })
    .await
}
