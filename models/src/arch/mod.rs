//! Model architectures. Each one turns token-id sequences into class logits.
pub mod bert;
pub mod bounds;
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

    /// Checks every size against [`bounds`] (nothing is allocated before this passes).
    pub fn check(&self, num_labels: usize) -> Result<()> {
        if !(2..=bounds::MAX_LABELS).contains(&num_labels) {
            return Err(ModelError::Config(format!(
                "a classifier needs 2 to {} labels, got {num_labels}",
                bounds::MAX_LABELS
            )));
        }
        match self {
            ModelConfig::FastText(c) => c.check(),
            ModelConfig::Transformer(c) | ModelConfig::Bert(c) => c.check(),
        }?;
        bounds::parameters(self.name(), self.min_parameters(num_labels))
    }

    /// A lower bound on the model's parameters (what its weights file must at least hold).
    pub fn min_parameters(&self, num_labels: usize) -> u128 {
        match self {
            ModelConfig::FastText(c) => c.min_parameters(num_labels),
            ModelConfig::Transformer(c) | ModelConfig::Bert(c) => c.min_parameters(num_labels),
        }
    }

    /// Builds the (freshly initialised) model on a variable-store path.
    pub fn build(&self, p: &nn::Path, num_labels: usize) -> Result<Box<dyn Classifier>> {
        self.check(num_labels)?;
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
