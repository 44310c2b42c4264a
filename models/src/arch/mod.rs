//! Model architectures. Each one turns token-id sequences into class logits.
pub mod bert;
pub mod fasttext;

use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

pub use bert::{BertClassifier, BertConfig};
pub use fasttext::{FastText, FastTextConfig};

/// What `config.json` of an artifact describes: the architecture and its sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "architecture", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Bag of token n-grams (fastText style): the fast default.
    FastText(FastTextConfig),
    /// A BERT-style encoder: trained from scratch (`transformer`) or fine-tuned from a
    /// pretrained Hugging Face checkpoint (`bert`). The layers are the same.
    Transformer(BertConfig),
    Bert(BertConfig),
}

impl ModelConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::FastText(_) => "fast_text",
            ModelConfig::Transformer(_) => "transformer",
            ModelConfig::Bert(_) => "bert",
        }
    }

    /// Builds the (freshly initialised) model on a variable-store path.
    pub fn build(&self, p: &nn::Path, num_labels: usize) -> Result<Box<dyn Classifier>> {
        if num_labels < 2 {
            return Err(ModelError::Config(format!(
                "a classifier needs at least 2 labels, got {num_labels}"
            )));
        }
        Ok(match self {
            ModelConfig::FastText(c) => Box::new(FastText::new(p, c, num_labels)?),
            ModelConfig::Transformer(c) | ModelConfig::Bert(c) => {
                Box::new(BertClassifier::new(p, c, num_labels)?)
            }
        })
    }
}

/// A text classifier over token ids.
pub trait Classifier: Send {
    /// Class logits `[batch, num_labels]` for a batch of id sequences. `train` turns
    /// dropout on.
    fn logits(&self, seqs: &[&[i64]], train: bool) -> Tensor;

    /// Applies an optimizer step of its own to variables trained outside the optimizer (sparse
    /// embeddings), then clears their gradients. Most models have none.
    fn sparse_step(&self, _lr: f64) {}
}
