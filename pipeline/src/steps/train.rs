//! train: trains a model on the training split (early stopping on the validation split)
//! and writes a verified model artifact whose `evaluation.json` holds validation metrics.
use super::{read_split, StepContext, StepOutcome};
use crate::error::Result;
use models::DeviceChoice;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;
use std::path::PathBuf;
use train::{Architecture, Balance, TrainConfig};

/// `architecture = "fasttext" | "transformer" | "bert"` (bert needs `checkpoint`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ArchitectureName {
    #[default]
    Fasttext,
    Transformer,
    Bert,
}

impl TryFrom<String> for ArchitectureName {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "fasttext" | "fast_text" => Ok(ArchitectureName::Fasttext),
            "transformer" => Ok(ArchitectureName::Transformer),
            "bert" => Ok(ArchitectureName::Bert),
            other => Err(format!(
                "unknown architecture {other:?}: expected fasttext, transformer or bert"
            )),
        }
    }
}

impl Serialize for ArchitectureName {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            ArchitectureName::Fasttext => "fasttext",
            ArchitectureName::Transformer => "transformer",
            ArchitectureName::Bert => "bert",
        })
    }
}

/// The train step's settings as written: the architecture, and the hyperparameters that
/// differ from that architecture's defaults ([`TrainConfig::for_architecture`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    pub architecture: ArchitectureName,
    /// Pretrained checkpoint directory (architecture bert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<Balance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bigram_buckets: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparse_lr_scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibrate: Option<bool>,
}

impl TrainSettings {
    /// The training configuration these settings describe, checked by the train crate.
    fn train_config(&self) -> std::result::Result<TrainConfig, String> {
        let arch = match self.architecture {
            ArchitectureName::Fasttext => Architecture::FastText,
            ArchitectureName::Transformer => Architecture::Transformer,
            ArchitectureName::Bert => Architecture::Bert {
                checkpoint: self
                    .checkpoint
                    .clone()
                    .filter(|c| !c.as_os_str().is_empty())
                    .ok_or("architecture bert needs a checkpoint directory")?,
            },
        };
        let mut c = TrainConfig::for_architecture(arch);
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            epochs,
            learning_rate,
            batch_size,
            max_len,
            weight_decay,
            warmup,
            seed,
            patience,
            device,
            balance,
            vocab_size,
            dim,
            bigram_buckets,
            dropout,
            sparse_lr_scale,
            calibrate
        );
        c.progress = false;
        c.check().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// The train step's configuration: its settings (what the cache key and the manifest
/// show) and the training configuration they resolve to, checked when the plan is built.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "TrainSettings")]
pub struct TrainStepConfig {
    pub settings: TrainSettings,
    pub train: TrainConfig,
}

impl TryFrom<TrainSettings> for TrainStepConfig {
    type Error = String;
    fn try_from(settings: TrainSettings) -> std::result::Result<Self, String> {
        let train = settings.train_config()?;
        Ok(TrainStepConfig { settings, train })
    }
}

impl Serialize for TrainStepConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.settings.serialize(s)
    }
}

pub(super) fn run(ctx: &StepContext, config: &TrainStepConfig) -> Result<StepOutcome> {
    let cfg = &config.train;
    let tr = read_split(ctx.input("train")?)?;
    let va = read_split(ctx.input("validation")?)?;
    ctx.log(format!(
        "training {} on {} examples ({} validation), {} epoch(s)",
        serde_json::to_value(&cfg.architecture).unwrap_or_default()["kind"],
        tr.len(),
        va.len(),
        cfg.epochs
    ));
    let outcome = train::train(cfg, &tr, &va)?;
    for r in &outcome.history {
        ctx.log(format!(
            "epoch {}: loss {:.4}, validation macro-F1 {:.4}, accuracy {:.4}",
            r.epoch, r.train_loss, r.validation_macro_f1, r.validation_accuracy
        ));
    }
    let evaluation = train::evaluate_model(&outcome.model, &va)?;
    let data = json!({
        "train": {"digest": ctx.input_digests.get("train"), "rows": tr.len()},
        "validation": {"digest": ctx.input_digests.get("validation"), "rows": va.len()},
        "labels": tr.label_names,
        "evaluation_split": "validation",
    });
    let meta = train::job::metadata(cfg, &outcome, data)?;
    let art = train::job::write_artifact(&ctx.output_path("model"), &outcome, &evaluation, meta)?;
    ctx.log(format!(
        "model {} (best epoch {}, {:.1}s, {:.0} examples/s on {})",
        art.version(),
        outcome.best_epoch,
        outcome.train_seconds,
        outcome.examples_per_sec,
        outcome.device
    ));
    Ok(StepOutcome {
        properties: json!({
            "model_version": art.version(),
            "best_epoch": outcome.best_epoch,
            "train_seconds": outcome.train_seconds,
            "validation_macro_f1": evaluation.macro_f1,
            "device": outcome.device,
        }),
        ..Default::default()
    })
}
