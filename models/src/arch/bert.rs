//! A BERT encoder with a classification head. Module paths mirror the Hugging Face
//! checkpoint (`bert.embeddings.word_embeddings`, `bert.encoder.layer.{i}.attention.self.query`,
//! …) so a pretrained `model.safetensors` loads by name. The head classifies the masked mean
//! of the last hidden states (the pooling sentence-transformers checkpoints are trained for).
use super::{bounds, Classifier};
use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// The subset of a Hugging Face `config.json` that a BERT encoder needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub pad_token_id: i64,
}

fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// A small encoder for training from scratch.
    pub fn small(vocab_size: usize, max_len: usize) -> Self {
        BertConfig {
            vocab_size,
            hidden_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 256,
            max_position_embeddings: max_len.max(8),
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            hidden_act: "gelu".into(),
            pad_token_id: 0,
        }
    }

    /// Reads a checkpoint's `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let cfg: BertConfig = serde_json::from_str(&text).map_err(|e| ModelError::json(path, e))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Every size within [`bounds`] and consistent, before anything is allocated.
    pub fn check(&self) -> Result<()> {
        bounds::size("vocab_size", self.vocab_size, bounds::MAX_VOCAB)?;
        bounds::size("hidden_size", self.hidden_size, bounds::MAX_WIDTH)?;
        bounds::size(
            "num_hidden_layers",
            self.num_hidden_layers,
            bounds::MAX_LAYERS,
        )?;
        bounds::size(
            "intermediate_size",
            self.intermediate_size,
            bounds::MAX_INTERMEDIATE,
        )?;
        bounds::size(
            "max_position_embeddings",
            self.max_position_embeddings,
            bounds::MAX_POSITIONS,
        )?;
        bounds::size(
            "type_vocab_size",
            self.type_vocab_size,
            bounds::MAX_TYPE_VOCAB,
        )?;
        bounds::probability("hidden_dropout_prob", self.hidden_dropout_prob)?;
        bounds::probability(
            "attention_probs_dropout_prob",
            self.attention_probs_dropout_prob,
        )?;
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(ModelError::Config(format!(
                "layer_norm_eps is {}; it must be a positive number",
                self.layer_norm_eps
            )));
        }
        if self.pad_token_id < 0 || self.pad_token_id as u128 >= self.vocab_size as u128 {
            return Err(ModelError::Config(format!(
                "pad_token_id {} is not a token of the {}-token vocabulary",
                self.pad_token_id, self.vocab_size
            )));
        }
        bounds::parameters("bert", self.min_parameters(2))?;
        if self.hidden_size == 0
            || self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(ModelError::Config(format!(
                "hidden_size {} must be a positive multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if !matches!(self.hidden_act.as_str(), "gelu" | "relu" | "gelu_new") {
            return Err(ModelError::Config(format!(
                "unsupported hidden_act {:?}",
                self.hidden_act
            )));
        }
        Ok(())
    }
}

impl BertConfig {
    /// A lower bound on the parameters of the model with `num_labels` outputs: the
    /// embeddings, each layer's four attention and two feed-forward matrices, the head.
    pub fn min_parameters(&self, num_labels: usize) -> u128 {
        let h = self.hidden_size as u128;
        let rows = self.vocab_size as u128
            + self.max_position_embeddings as u128
            + self.type_vocab_size as u128;
        let layer = 4 * h * h + 2 * h * self.intermediate_size as u128;
        rows * h + self.num_hidden_layers as u128 * layer + h * num_labels as u128
    }
}

fn layer_norm(p: nn::Path, cfg: &BertConfig) -> nn::LayerNorm {
    let c = nn::LayerNormConfig {
        eps: cfg.layer_norm_eps,
        ..Default::default()
    };
    nn::layer_norm(p, vec![cfg.hidden_size as i64], c)
}

struct Embeddings {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    dropout: f64,
}

impl Embeddings {
    fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.hidden_size as i64;
        let e = |n: &str, rows: usize| nn::embedding(&p / n, rows as i64, h, Default::default());
        Embeddings {
            word: e("word_embeddings", cfg.vocab_size),
            position: e("position_embeddings", cfg.max_position_embeddings),
            token_type: e("token_type_embeddings", cfg.type_vocab_size),
            norm: layer_norm(&p / "LayerNorm", cfg),
            dropout: cfg.hidden_dropout_prob,
        }
    }

    fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        let len = ids.size()[1];
        let pos = Tensor::arange(len, (Kind::Int64, ids.device())).unsqueeze(0);
        let types = ids.zeros_like();
        let x =
            self.word.forward(ids) + self.position.forward(&pos) + self.token_type.forward(&types);
        self.norm.forward(&x).dropout(self.dropout, train)
    }
}

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    heads: i64,
    act: String,
    hidden_dropout: f64,
    attn_dropout: f64,
}

impl Layer {
    fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.hidden_size as i64;
        let i = cfg.intermediate_size as i64;
        let lin = |p: nn::Path, a, b| nn::linear(p, a, b, Default::default());
        let att = &p / "attention";
        Layer {
            query: lin(&att / "self" / "query", h, h),
            key: lin(&att / "self" / "key", h, h),
            value: lin(&att / "self" / "value", h, h),
            attn_out: lin(&att / "output" / "dense", h, h),
            attn_norm: layer_norm(&att / "output" / "LayerNorm", cfg),
            intermediate: lin(&p / "intermediate" / "dense", h, i),
            output: lin(&p / "output" / "dense", i, h),
            out_norm: layer_norm(&p / "output" / "LayerNorm", cfg),
            heads: cfg.num_attention_heads as i64,
            act: cfg.hidden_act.clone(),
            hidden_dropout: cfg.hidden_dropout_prob,
            attn_dropout: cfg.attention_probs_dropout_prob,
        }
    }

    fn forward_t(&self, x: &Tensor, mask_bias: &Tensor, train: bool) -> Tensor {
        let (b, t, h) = x.size3().expect("hidden states are 3-d");
        let hd = h / self.heads;
        let split = |y: Tensor| y.view([b, t, self.heads, hd]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let scores = q.matmul(&k.transpose(-1, -2)) / (hd as f64).sqrt() + mask_bias;
        let probs = scores
            .softmax(-1, Kind::Float)
            .dropout(self.attn_dropout, train);
        let ctx = probs
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, t, h]);
        let a = self
            .attn_out
            .forward(&ctx)
            .dropout(self.hidden_dropout, train);
        let a = self.attn_norm.forward(&(a + x));
        let inter = self.intermediate.forward(&a);
        let inter = match self.act.as_str() {
            "relu" => inter.relu(),
            "gelu_new" => inter.gelu("tanh"),
            _ => inter.gelu("none"),
        };
        let o = self
            .output
            .forward(&inter)
            .dropout(self.hidden_dropout, train);
        self.out_norm.forward(&(o + a))
    }
}

/// The encoder alone: ids and attention mask → last hidden states.
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertModel {
    pub fn new(p: &nn::Path, cfg: &BertConfig) -> Result<Self> {
        cfg.check()?;
        let enc = p / "encoder" / "layer";
        Ok(BertModel {
            embeddings: Embeddings::new(p / "embeddings", cfg),
            layers: (0..cfg.num_hidden_layers)
                .map(|i| Layer::new(&enc / i, cfg))
                .collect(),
        })
    }

    /// `ids` and `mask` are `[batch, len]` (mask 1 for real tokens, 0 for padding).
    pub fn forward_t(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let bias: Tensor = (mask.to_kind(Kind::Float).neg() + 1.0) * -1e4;
        let bias = bias.unsqueeze(1).unsqueeze(1);
        let mut x = self.embeddings.forward_t(ids, train);
        for layer in &self.layers {
            x = layer.forward_t(&x, &bias, train);
        }
        x
    }
}

/// BERT encoder + masked mean pooling + dropout + linear head.
pub struct BertClassifier {
    bert: BertModel,
    classifier: nn::Linear,
    dropout: f64,
    pad_id: i64,
    max_len: usize,
    device: Device,
}

impl BertClassifier {
    pub fn new(p: &nn::Path, cfg: &BertConfig, num_labels: usize) -> Result<Self> {
        Ok(BertClassifier {
            bert: BertModel::new(&(p / "bert"), cfg)?,
            classifier: nn::linear(
                p / "classifier",
                cfg.hidden_size as i64,
                num_labels as i64,
                Default::default(),
            ),
            dropout: cfg.hidden_dropout_prob,
            pad_id: cfg.pad_token_id,
            max_len: cfg.max_position_embeddings,
            device: p.device(),
        })
    }
}

/// Pads id sequences into `[batch, len]` ids and a 0/1 mask, truncating at `max_len`.
pub fn pad_batch(seqs: &[&[i64]], pad_id: i64, max_len: usize, device: Device) -> (Tensor, Tensor) {
    let len = seqs
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(1)
        .clamp(1, max_len);
    let mut ids = vec![pad_id; seqs.len() * len];
    let mut mask = vec![0i64; seqs.len() * len];
    for (r, s) in seqs.iter().enumerate() {
        for (c, &id) in s.iter().take(len).enumerate() {
            ids[r * len + c] = id;
            mask[r * len + c] = 1;
        }
    }
    let shape = [seqs.len() as i64, len as i64];
    (
        Tensor::from_slice(&ids).view(shape).to_device(device),
        Tensor::from_slice(&mask).view(shape).to_device(device),
    )
}

/// Mean of the hidden states over real (unmasked) tokens.
pub fn masked_mean(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float).unsqueeze(-1);
    (hidden * &m).sum_dim_intlist(1, false, Kind::Float)
        / m.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0)
}

impl Classifier for BertClassifier {
    fn logits(&self, seqs: &[&[i64]], train: bool) -> Tensor {
        let (ids, mask) = pad_batch(seqs, self.pad_id, self.max_len, self.device);
        let hidden = self.bert.forward_t(&ids, &mask, train);
        let pooled = masked_mean(&hidden, &mask).dropout(self.dropout, train);
        self.classifier.forward(&pooled)
    }
}

/// Copies a Hugging Face checkpoint's weights (`model.safetensors`) into the variables of a
/// store built with [`BertClassifier::new`] on its root. Checkpoint names may or may not
/// carry the `bert.` prefix. Every encoder variable must be found with the right shape; the
/// classification head may be absent (it is then left freshly initialised). Returns the
/// names of the variables that were not in the checkpoint.
pub fn load_pretrained(vs: &mut nn::VarStore, weights: &Path) -> Result<Vec<String>> {
    let ckpt_err = |reason: String| ModelError::Checkpoint {
        path: weights.to_path_buf(),
        reason,
    };
    if !weights.exists() {
        return Err(ckpt_err("file not found".into()));
    }
    let tensors = Tensor::read_safetensors(weights).map_err(|e| ckpt_err(e.to_string()))?;
    let map: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
    let mut missing = Vec::new();
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let src = map
            .get(&name)
            .or_else(|| name.strip_prefix("bert.").and_then(|n| map.get(n)));
        match src {
            Some(t) => {
                if t.size() != var.size() {
                    return Err(ckpt_err(format!(
                        "{name}: checkpoint shape {:?}, model shape {:?}",
                        t.size(),
                        var.size()
                    )));
                }
                var.copy_(&t.to_kind(var.kind()).to_device(var.device()));
            }
            None if name.starts_with("bert.") => {
                return Err(ckpt_err(format!("missing encoder weight {name}")))
            }
            None => missing.push(name),
        }
    }
    missing.sort();
    Ok(missing)
}
