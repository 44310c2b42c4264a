//! A loaded model (weights + tokenizer + labels) and the `Predictor` API that serving and
//! batch transform use: a batch of texts → label + probabilities, under no-grad.
use crate::arch::{Classifier, ModelConfig};
use crate::artifact::{self, Artifact, ArtifactConfig, ArtifactWriter, FORMAT_VERSION};
use crate::error::{ModelError, Result};
use crate::tokenizer::{Encoded, TextTokenizer};
use serde::Serialize;
use tch::{nn, Device, Kind, Tensor};

/// A model in memory: its variables, network, tokenizer and configuration.
pub struct Model {
    pub vs: nn::VarStore,
    pub net: Box<dyn Classifier>,
    /// Per-class offsets added to the logits (prior-shift calibration, fitted on the
    /// validation split after training; zeros until then). Saved with the weights.
    pub logit_bias: Tensor,
    pub tokenizer: TextTokenizer,
    pub config: ArtifactConfig,
}

impl Model {
    /// A freshly initialised model.
    pub fn new(
        model: ModelConfig,
        labels: Vec<String>,
        max_len: usize,
        tokenizer: TextTokenizer,
        device: Device,
    ) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let (net, logit_bias) = build(&vs, &model, labels.len())?;
        Ok(Model {
            vs,
            net,
            logit_bias,
            tokenizer,
            config: ArtifactConfig {
                format_version: FORMAT_VERSION,
                model,
                labels,
                max_len,
            },
        })
    }

    /// Loads and checks a model from a verified artifact.
    pub fn load(artifact: &Artifact, device: Device) -> Result<Self> {
        let cfg = artifact.config.clone();
        let tokenizer = TextTokenizer::load(&artifact.dir.join(artifact::TOKENIZER))?;
        let mut vs = nn::VarStore::new(device);
        let (net, logit_bias) = build(&vs, &cfg.model, cfg.labels.len())?;
        let wpath = artifact.dir.join(artifact::WEIGHTS);
        vs.load(&wpath).map_err(|e| ModelError::Mismatch {
            path: artifact.dir.clone(),
            reason: format!("weights do not fit {}: {e}", cfg.model.name()),
        })?;
        Ok(Model {
            vs,
            net,
            logit_bias,
            tokenizer,
            config: cfg,
        })
    }

    /// Writes config, tokenizer, weights and labels into an artifact being built.
    pub fn save_into(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.write_json(artifact::CONFIG, &self.config)?;
        w.write_json(artifact::LABELS, &self.config.labels)?;
        self.tokenizer.save(&w.path(artifact::TOKENIZER))?;
        w.add_written(artifact::TOKENIZER)?;
        self.vs.save(w.path(artifact::WEIGHTS))?;
        w.add_written(artifact::WEIGHTS)?;
        Ok(())
    }

    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        self.tokenizer.encode_batch(texts, self.config.max_len)
    }

    /// Softmax probabilities `[batch, labels]` as rows of f32, under no-grad, eval mode.
    pub fn probabilities(&self, seqs: &[&[i64]]) -> Result<Vec<Vec<f32>>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(self.logits(seqs).softmax(-1, Kind::Float), seqs.len())
    }

    /// Logits (bias included) as rows of f32, under no-grad, eval mode.
    pub fn logit_rows(&self, seqs: &[&[i64]]) -> Result<Vec<Vec<f32>>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(self.logits(seqs), seqs.len())
    }

    fn rows(&self, t: Tensor, batch: usize) -> Result<Vec<Vec<f32>>> {
        let n = self.config.labels.len();
        let flat = Vec::<f32>::try_from(t.contiguous().view([-1]))?;
        if flat.len() != n * batch {
            return Err(ModelError::Config(format!(
                "model returned {} values for {batch} inputs and {n} labels",
                flat.len()
            )));
        }
        Ok(flat.chunks(n).map(|c| c.to_vec()).collect())
    }
}

/// Index of the largest value (the first on ties; 0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(
            (0, f32::MIN),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        )
        .0
}

fn build(
    vs: &nn::VarStore,
    model: &ModelConfig,
    num_labels: usize,
) -> Result<(Box<dyn Classifier>, Tensor)> {
    let net = model.build(&vs.root(), num_labels)?;
    let bias = vs.root().zeros_no_train("logit_bias", &[num_labels as i64]);
    Ok((net, bias))
}

impl Model {
    /// Raw logits `[batch, labels]` (bias included) under no-grad, on the CPU.
    pub fn logits(&self, seqs: &[&[i64]]) -> Tensor {
        let _guard = tch::no_grad_guard();
        (self.net.logits(seqs, false) + &self.logit_bias).to_device(Device::Cpu)
    }

    /// Sets the per-class logit offsets.
    pub fn set_logit_bias(&mut self, bias: &[f32]) -> Result<()> {
        if bias.len() != self.config.labels.len() {
            return Err(ModelError::Config(format!(
                "{} logit offsets for {} labels",
                bias.len(),
                self.config.labels.len()
            )));
        }
        let _guard = tch::no_grad_guard();
        self.logit_bias
            .copy_(&Tensor::from_slice(bias).to_device(self.logit_bias.device()));
        Ok(())
    }
}

/// One prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub label: String,
    pub label_index: usize,
    /// One probability per label, in `labels()` order.
    pub probabilities: Vec<f32>,
}

/// Batch inference over a loaded model. Not `Sync`: keep it on one thread (the serving
/// batcher owns it on a dedicated thread).
pub struct Predictor {
    model: Model,
    version: String,
    digest: String,
}

const CHUNK: usize = 256;

impl Predictor {
    /// Loads an artifact directory (verifying it) onto a device.
    pub fn load(dir: &std::path::Path, device: Device) -> Result<Self> {
        let art = Artifact::open(dir)?;
        let model = Model::load(&art, device)?;
        Ok(Predictor {
            model,
            version: art.version(),
            digest: art.digest,
        })
    }

    /// Wraps an in-memory model (e.g. right after training).
    pub fn from_model(model: Model, version: impl Into<String>) -> Self {
        let version = version.into();
        Predictor {
            model,
            digest: version.clone(),
            version,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
    pub fn labels(&self) -> &[String] {
        self.model.labels()
    }
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn max_len(&self) -> usize {
        self.model.config.max_len
    }
    pub fn architecture(&self) -> &'static str {
        self.model.config.model.name()
    }

    /// Tokenizes texts (truncating to the model's maximum length).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        self.model.encode(texts)
    }

    /// Predicts already-encoded inputs. The outer error is a failure of the whole batch;
    /// an inner error (non-finite output) belongs to that input alone.
    pub fn predict_encoded(&self, batch: &[&[i64]]) -> Result<Vec<Result<Prediction>>> {
        let probs = self.model.probabilities(batch)?;
        Ok(probs.into_iter().map(|p| self.to_prediction(p)).collect())
    }

    fn to_prediction(&self, p: Vec<f32>) -> Result<Prediction> {
        if p.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite);
        }
        let idx = argmax(&p);
        Ok(Prediction {
            label: self.model.labels()[idx].clone(),
            label_index: idx,
            probabilities: p,
        })
    }

    /// Texts → predictions, in chunks. Any per-input failure fails the call.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(CHUNK) {
            let enc = self.encode(chunk)?;
            let seqs: Vec<&[i64]> = enc.iter().map(|e| e.ids.as_slice()).collect();
            for r in self.predict_encoded(&seqs)? {
                out.push(r?);
            }
        }
        Ok(out)
    }
}
