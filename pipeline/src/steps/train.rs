//! train: trains a model on the training split (early stopping on the validation split)
//! and writes a verified model artifact whose `evaluation.json` holds validation metrics.
use super::{overlay, read_split, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use train::{Architecture, TrainConfig};

/// The training configuration: the architecture's defaults with the step's settings laid
/// over them.
pub(super) fn train_config(cfg: &Map<String, Value>) -> std::result::Result<TrainConfig, String> {
    let arch = match cfg.get("architecture").map(|v| v.as_str().unwrap_or("")) {
        None | Some("fasttext") | Some("fast_text") => Architecture::FastText,
        Some("transformer") => Architecture::Transformer,
        Some("bert") => {
            let Some(c) = cfg
                .get("checkpoint")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            else {
                return Err("architecture bert needs a checkpoint directory".into());
            };
            if !std::path::Path::new(c).is_dir() {
                return Err(format!("checkpoint {c} is not a directory"));
            }
            Architecture::Bert {
                checkpoint: PathBuf::from(c),
            }
        }
        Some(other) => {
            return Err(format!(
                "unknown architecture {other:?}: expected fasttext, transformer or bert"
            ))
        }
    };
    let base = TrainConfig::for_architecture(arch);
    let mut c = overlay(&base, cfg, &["architecture", "checkpoint"])?;
    c.progress = false;
    if c.epochs == 0 || c.batch_size == 0 || c.max_len < 2 || c.learning_rate <= 0.0 {
        return Err(
            "epochs, batch_size and learning_rate must be positive and max_len at least 2".into(),
        );
    }
    Ok(c)
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    let cfg = train_config(&ctx.config).map_err(|m| ctx.fail(m))?;
    let tr = read_split(ctx.input("train")?)?;
    let va = read_split(ctx.input("validation")?)?;
    ctx.log(format!(
        "training {} on {} examples ({} validation), {} epoch(s)",
        serde_json::to_value(&cfg.architecture).unwrap_or_default()["kind"],
        tr.len(),
        va.len(),
        cfg.epochs
    ));
    let outcome = train::train(&cfg, &tr, &va)?;
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
    let meta = train::job::metadata(&cfg, &outcome, data)?;
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
