//! The training loop: AdamW with linear warm-up and decay, class-weighted or balanced
//! data, early stopping on validation macro-F1 with the best weights kept, deterministic
//! for a seed on CPU, and a progress bar with loss and examples/s.
use crate::data::Dataset;
use crate::error::{Result, TrainError};
use crate::metrics::Evaluation;
use crate::split::{class_weights, downsample, Balance};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use models::arch::bert::load_pretrained;
use models::predictor::argmax;
use models::{
    BertConfig, DeviceChoice, Encoded, FastTextConfig, Model, ModelConfig, TextTokenizer,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn, nn::OptimizerConfig, Kind, Reduction, Tensor};

/// Which model to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    /// Bag of token n-grams; the fast default.
    FastText,
    /// A small BERT-style encoder trained from scratch.
    Transformer,
    /// Fine-tune a pretrained BERT-family checkpoint directory (Hugging Face layout:
    /// config.json, model.safetensors, tokenizer.json).
    Bert { checkpoint: PathBuf },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub architecture: Architecture,
    pub epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub max_len: usize,
    pub weight_decay: f64,
    /// Share of all steps spent warming the learning rate up linearly.
    pub warmup: f64,
    pub seed: u64,
    /// Epochs without a better validation macro-F1 before stopping.
    pub patience: usize,
    pub device: DeviceChoice,
    pub balance: Balance,
    /// Tokenizer vocabulary to train (ignored for a pretrained checkpoint).
    pub vocab_size: usize,
    /// fastText embedding size.
    pub dim: usize,
    /// fastText hashed bigram rows.
    pub bigram_buckets: usize,
    pub dropout: f64,
    /// Learning rate of the sparse (lazy-Adam-trained) embedding, as a multiple of the AdamW
    /// learning rate.
    pub sparse_lr_scale: f64,
    /// Fit per-class logit offsets on the validation split after training so that the
    /// balanced accuracy is highest (a prior-shift correction for imbalanced classes).
    pub calibrate: bool,
    /// Draw a progress bar (only on a terminal).
    pub progress: bool,
}

impl TrainConfig {
    /// Sensible defaults for each architecture.
    pub fn for_architecture(architecture: Architecture) -> Self {
        let base = TrainConfig {
            architecture: Architecture::FastText,
            epochs: 8,
            learning_rate: 0.004,
            batch_size: 64,
            max_len: 256,
            weight_decay: 0.0,
            warmup: 0.05,
            seed: 42,
            patience: 2,
            device: DeviceChoice::Auto,
            balance: Balance::ClassWeights,
            vocab_size: 20_000,
            dim: 100,
            bigram_buckets: 200_000,
            dropout: 0.2,
            sparse_lr_scale: 1.0,
            calibrate: true,
            progress: true,
        };
        match architecture {
            Architecture::FastText => base,
            Architecture::Transformer => TrainConfig {
                architecture,
                epochs: 4,
                learning_rate: 5e-4,
                max_len: 128,
                weight_decay: 0.01,
                warmup: 0.1,
                vocab_size: 8_000,
                dropout: 0.1,
                ..base
            },
            Architecture::Bert { .. } => TrainConfig {
                architecture,
                epochs: 2,
                learning_rate: 5e-5,
                batch_size: 16,
                max_len: 128,
                weight_decay: 0.01,
                warmup: 0.1,
                dropout: 0.1,
                ..base
            },
        }
    }

    /// `--preset quality`: the settings for fine-tuning a pretrained MiniLM/BERT encoder on
    /// all the training data (the architecture's defaults are for quick runs). Standard
    /// fine-tuning practice: a small peak learning rate with 10 % warm-up and linear decay,
    /// weight decay, class-weighted loss instead of downsampling (every review is used),
    /// three epochs with early stopping after one epoch without improvement, and 128
    /// tokens (most reviews fit).
    pub fn quality(self) -> Self {
        TrainConfig {
            epochs: 3,
            learning_rate: 4e-5,
            batch_size: 32,
            max_len: 128,
            weight_decay: 0.01,
            warmup: 0.1,
            patience: 1,
            dropout: 0.1,
            balance: Balance::ClassWeights,
            ..self
        }
    }

    /// Checks the settings (what [`train`] refuses); callers that accept a configuration
    /// from users (the pipeline's train step) call it when they read it.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if let Architecture::Bert { checkpoint } = &self.architecture {
            if !checkpoint.is_dir() {
                return bad(format!(
                    "checkpoint {} is not a directory",
                    checkpoint.display()
                ));
            }
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if self.max_len < 2 {
            return bad(format!(
                "max length must be at least 2, got {}",
                self.max_len
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "learning rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.warmup) {
            return bad(format!(
                "warm-up share must be in [0, 1), got {}",
                self.warmup
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_macro_f1: f64,
    pub validation_accuracy: f64,
    #[serde(default)]
    pub validation_balanced_accuracy: f64,
    /// Mean cross-entropy on the validation split (0 when it is empty).
    #[serde(default)]
    pub validation_loss: f64,
    pub examples_per_sec: f64,
}

pub struct TrainOutcome {
    pub model: Model,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub train_seconds: f64,
    pub examples_per_sec: f64,
    pub device: String,
}

/// The tokenizer for a run: trained on the training texts, or the checkpoint's.
pub fn make_tokenizer(cfg: &TrainConfig, train: &Dataset) -> Result<TextTokenizer> {
    match &cfg.architecture {
        Architecture::Bert { checkpoint } => {
            Ok(TextTokenizer::load(&checkpoint.join("tokenizer.json"))?)
        }
        _ => Ok(TextTokenizer::train_wordpiece(
            train.texts.iter(),
            cfg.vocab_size,
            2,
        )?),
    }
}

fn model_config(cfg: &TrainConfig, tokenizer: &TextTokenizer) -> Result<(ModelConfig, usize)> {
    Ok(match &cfg.architecture {
        Architecture::FastText => (
            ModelConfig::FastText(FastTextConfig {
                vocab_size: tokenizer.vocab_size(),
                bigram_buckets: cfg.bigram_buckets,
                dim: cfg.dim,
                dropout: cfg.dropout,
            }),
            cfg.max_len,
        ),
        Architecture::Transformer => {
            let mut b = BertConfig::small(tokenizer.vocab_size(), cfg.max_len);
            b.hidden_dropout_prob = cfg.dropout;
            b.attention_probs_dropout_prob = cfg.dropout;
            b.pad_token_id = tokenizer.pad_id();
            (ModelConfig::Transformer(b), cfg.max_len)
        }
        Architecture::Bert { checkpoint } => {
            let b = BertConfig::from_file(&checkpoint.join("config.json"))?;
            let max_len = cfg.max_len.min(b.max_position_embeddings);
            (ModelConfig::Bert(b), max_len)
        }
    })
}

/// Copies of a model's variables, by name.
type Snapshot = Vec<(String, Tensor)>;

fn snapshot(vs: &nn::VarStore) -> Snapshot {
    vs.variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect()
}

fn restore(vs: &nn::VarStore, snap: &[(String, Tensor)]) {
    let _g = tch::no_grad_guard();
    let mut vars = vs.variables();
    for (n, t) in snap {
        if let Some(v) = vars.get_mut(n) {
            v.copy_(t);
        }
    }
}

/// Predicted class of each encoded input, in chunks.
pub fn predict_classes(model: &Model, enc: &[Encoded]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(enc.len());
    for chunk in enc.chunks(256) {
        let seqs: Vec<&[i64]> = chunk.iter().map(|e| e.ids.as_slice()).collect();
        out.extend(model.logit_rows(&seqs)?.iter().map(|row| argmax(row)));
    }
    Ok(out)
}

/// Predicted classes and mean cross-entropy of encoded inputs against `truth`.
pub fn predict_with_loss(
    model: &Model,
    enc: &[Encoded],
    truth: &[usize],
) -> Result<(Vec<usize>, f64)> {
    let mut pred = Vec::with_capacity(enc.len());
    let mut loss = 0.0;
    for (chunk, t) in enc.chunks(256).zip(truth.chunks(256)) {
        let seqs: Vec<&[i64]> = chunk.iter().map(|e| e.ids.as_slice()).collect();
        for (row, &t) in model.logit_rows(&seqs)?.iter().zip(t) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = max
                + row
                    .iter()
                    .map(|&l| (l as f64 - max).exp())
                    .sum::<f64>()
                    .ln();
            loss += lse - row[t] as f64;
            pred.push(argmax(row));
        }
    }
    Ok((pred, loss / enc.len().max(1) as f64))
}

/// Evaluates a model on a dataset: the metrics, and the reliability data of the
/// predictions' top-class probabilities.
pub fn evaluate_model(model: &Model, ds: &Dataset) -> Result<Evaluation> {
    let texts: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
    let enc = model.encode(&texts)?;
    let (mut pred, mut confidence) = (Vec::with_capacity(enc.len()), Vec::new());
    for chunk in enc.chunks(256) {
        let seqs: Vec<&[i64]> = chunk.iter().map(|e| e.ids.as_slice()).collect();
        for row in model.logit_rows(&seqs)? {
            let best = argmax(&row);
            // Softmax probability of the predicted class: 1 / Σ exp(l_i − l_best).
            let top = f64::from(row[best]);
            let sum: f64 = row.iter().map(|&l| (f64::from(l) - top).exp()).sum();
            pred.push(best);
            confidence.push(1.0 / sum);
        }
    }
    Ok(Evaluation::with_confidence(
        &ds.labels,
        &pred,
        &confidence,
        &ds.label_names,
    ))
}

fn balanced_accuracy(logits: &[Vec<f32>], truth: &[usize], bias: &[f32], k: usize) -> f64 {
    let mut hit = vec![0usize; k];
    let mut n = vec![0usize; k];
    for (row, &t) in logits.iter().zip(truth) {
        let shifted: Vec<f32> = row.iter().zip(bias).map(|(l, b)| l + b).collect();
        let best = argmax(&shifted);
        n[t] += 1;
        hit[t] += (best == t) as usize;
    }
    let present: Vec<usize> = (0..k).filter(|&c| n[c] > 0).collect();
    present
        .iter()
        .map(|&c| hit[c] as f64 / n[c] as f64)
        .sum::<f64>()
        / present.len().max(1) as f64
}

/// Per-class logit offsets that maximise balanced accuracy on held-out data: coordinate
/// ascent over a grid, the last class fixed at 0 (offsets are shift-invariant), ties going
/// to the smaller offset. Returns zeros when a class is missing from the data.
pub fn calibrate(model: &Model, enc: &[Encoded], truth: &[usize], k: usize) -> Result<Vec<f32>> {
    let mut counts = vec![0usize; k];
    truth.iter().for_each(|&t| counts[t] += 1);
    if counts.iter().any(|&c| c < 5) {
        return Ok(vec![0.0; k]);
    }
    let mut logits = Vec::with_capacity(enc.len());
    for chunk in enc.chunks(256) {
        let seqs: Vec<&[i64]> = chunk.iter().map(|e| e.ids.as_slice()).collect();
        logits.extend(model.logit_rows(&seqs)?);
    }
    let mut bias = vec![0.0f32; k];
    let mut best = balanced_accuracy(&logits, truth, &bias, k);
    for _round in 0..3 {
        for c in 0..k - 1 {
            for step in -40..=40 {
                let v = step as f32 * 0.05;
                let mut b = bias.clone();
                b[c] = v;
                let score = balanced_accuracy(&logits, truth, &b, k);
                if score > best + 1e-9 || (score >= best - 1e-9 && v.abs() < bias[c].abs()) {
                    best = score;
                    bias = b;
                }
            }
        }
    }
    Ok(bias)
}

/// Trains a model on `train`, early-stopping on `validation`.
pub fn train(cfg: &TrainConfig, train: &Dataset, validation: &Dataset) -> Result<TrainOutcome> {
    train_with(cfg, train, validation, &mut |_| true)
}

/// [`train`], calling `on_epoch` after each epoch's validation; training stops (as on
/// early stopping: best weights kept, then calibrated) when it returns false. Tuning's
/// schedulers stop unpromising trials this way.
pub fn train_with(
    cfg: &TrainConfig,
    train: &Dataset,
    validation: &Dataset,
    on_epoch: &mut dyn FnMut(&EpochRecord) -> bool,
) -> Result<TrainOutcome> {
    cfg.check()?;
    if train.is_empty() {
        return Err(TrainError::Config("the training split is empty".into()));
    }
    let device = cfg.device.resolve()?;
    tch::manual_seed(cfg.seed as i64);
    let train_ds = match cfg.balance {
        Balance::Downsample => downsample(train, cfg.seed),
        _ => train.clone(),
    };
    let tokenizer = make_tokenizer(cfg, &train_ds)?;
    let (mcfg, max_len) = model_config(cfg, &tokenizer)?;
    let mut model = Model::new(mcfg, train.label_names.clone(), max_len, tokenizer, device)?;
    if let Architecture::Bert { checkpoint } = &cfg.architecture {
        let missing = load_pretrained(&mut model.vs, &checkpoint.join("model.safetensors"))?;
        tracing::info!(?missing, "loaded pretrained encoder; freshly initialised");
    }
    let weights = match cfg.balance {
        Balance::ClassWeights => Some(
            Tensor::from_slice(&class_weights(&train_ds))
                .to_kind(Kind::Float)
                .to_device(device),
        ),
        _ => None,
    };
    let texts: Vec<&str> = train_ds.texts.iter().map(String::as_str).collect();
    let enc = model.encode(&texts)?;
    let vtexts: Vec<&str> = validation.texts.iter().map(String::as_str).collect();
    let venc = model.encode(&vtexts)?;

    let mut opt = nn::AdamW {
        wd: cfg.weight_decay,
        ..Default::default()
    }
    .build(&model.vs, cfg.learning_rate)?;
    let steps_per_epoch = train_ds.len().div_ceil(cfg.batch_size);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let warmup_steps = (cfg.warmup * total_steps as f64).round() as usize;
    let lr_at = |step: usize| -> f64 {
        if step < warmup_steps {
            cfg.learning_rate * (step + 1) as f64 / warmup_steps as f64
        } else {
            let rest = (total_steps - warmup_steps).max(1) as f64;
            cfg.learning_rate * (1.0 - (step - warmup_steps) as f64 / rest).max(0.0)
        }
    };

    let bar = if cfg.progress {
        ProgressBar::with_draw_target(Some(total_steps as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );

    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..train_ds.len()).collect();
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Snapshot)> = None;
    let mut step = 0;
    let started = Instant::now();
    let mut seen = 0usize;
    for epoch in 1..=cfg.epochs {
        bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
        order.shuffle(&mut rng);
        let t0 = Instant::now();
        let (mut loss_sum, mut batches) = (0.0, 0usize);
        for batch in order.chunks(cfg.batch_size) {
            let seqs: Vec<&[i64]> = batch.iter().map(|&i| enc[i].ids.as_slice()).collect();
            let target: Vec<i64> = batch.iter().map(|&i| train_ds.labels[i] as i64).collect();
            let target = Tensor::from_slice(&target).to_device(device);
            let logits = model.net.logits(&seqs, true);
            let loss =
                logits.cross_entropy_loss(&target, weights.as_ref(), Reduction::Mean, -100, 0.0);
            let lr = lr_at(step);
            opt.set_lr(lr);
            opt.backward_step_clip_norm(&loss, 1.0);
            model.net.sparse_step(lr * cfg.sparse_lr_scale);
            let l = loss.double_value(&[]);
            if !l.is_finite() {
                return Err(TrainError::Config(format!(
                    "the loss became {l} at epoch {epoch}, step {step}: lower the learning rate"
                )));
            }
            loss_sum += l;
            batches += 1;
            step += 1;
            seen += batch.len();
            bar.inc(1);
            if batches % 10 == 0 {
                bar.set_message(format!(
                    "loss {:.4} {:.0} ex/s",
                    loss_sum / batches as f64,
                    seen as f64 / started.elapsed().as_secs_f64()
                ));
            }
        }
        let eps = train_ds.len() as f64 / t0.elapsed().as_secs_f64();
        let (vpred, vloss) = predict_with_loss(&model, &venc, &validation.labels)?;
        let ve = Evaluation::compute(&validation.labels, &vpred, &validation.label_names);
        let rec = EpochRecord {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            validation_macro_f1: ve.macro_f1,
            validation_accuracy: ve.accuracy,
            validation_balanced_accuracy: ve.balanced_accuracy,
            validation_loss: vloss,
            examples_per_sec: eps,
        };
        tracing::info!(
            epoch,
            loss = rec.train_loss,
            val_macro_f1 = rec.validation_macro_f1,
            val_accuracy = rec.validation_accuracy,
            examples_per_sec = eps,
            "epoch done"
        );
        let go_on = on_epoch(&rec);
        history.push(rec);
        let improved = best.as_ref().is_none_or(|b| ve.macro_f1 > b.0) || validation.is_empty();
        if improved {
            best = Some((ve.macro_f1, epoch, snapshot(&model.vs)));
        } else if best.as_ref().is_some_and(|b| epoch - b.1 >= cfg.patience) {
            tracing::info!(
                epoch,
                "early stop: no better validation macro-F1 for {} epoch(s)",
                cfg.patience
            );
            break;
        }
        if !go_on {
            tracing::info!(epoch, "stopped by the caller");
            break;
        }
    }
    bar.finish_and_clear();
    let train_seconds = started.elapsed().as_secs_f64();
    // The best epoch's weights first: the offsets are fitted to the model that is kept (and
    // the snapshot holds the logit bias too, so restoring after calibrating would undo it).
    let best_epoch = match &best {
        Some((_, e, snap)) => {
            restore(&model.vs, snap);
            *e
        }
        None => cfg.epochs,
    };
    if cfg.calibrate && !validation.is_empty() {
        let bias = calibrate(
            &model,
            &venc,
            &validation.labels,
            validation.label_names.len(),
        )?;
        tracing::info!(?bias, "calibrated logit offsets on the validation split");
        model.set_logit_bias(&bias)?;
    }
    Ok(TrainOutcome {
        model,
        history,
        best_epoch,
        train_seconds,
        examples_per_sec: seen as f64 / train_seconds.max(1e-9),
        device: models::device::device_name(device),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_what_train_cannot_use() {
        assert!(TrainConfig::for_architecture(Architecture::FastText)
            .check()
            .is_ok());
        let bert = TrainConfig::for_architecture(Architecture::Bert {
            checkpoint: "/no/such/checkpoint".into(),
        });
        let e = bert.check().unwrap_err().to_string();
        assert!(e.contains("is not a directory"), "{e}");
        let mut c = TrainConfig::for_architecture(Architecture::FastText);
        c.max_len = 1;
        assert!(c.check().unwrap_err().to_string().contains("max length"));
    }
}
