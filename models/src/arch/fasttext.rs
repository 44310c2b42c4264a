//! fastText-style classifier: the mean of embeddings of the tokens and of hashed token
//! bigrams, then one linear layer. Trains in seconds on a CPU.
use super::Classifier;
use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FastTextConfig {
    /// Token vocabulary size (rows for unigrams).
    pub vocab_size: usize,
    /// Extra hashed rows for token bigrams (0 turns bigrams off).
    pub bigram_buckets: usize,
    pub dim: usize,
    pub dropout: f64,
}

pub struct FastText {
    embedding: Tensor,
    fc: nn::Linear,
    cfg: FastTextConfig,
    device: Device,
}

impl FastText {
    pub fn new(p: &nn::Path, cfg: &FastTextConfig, num_labels: usize) -> Result<Self> {
        if cfg.vocab_size == 0 || cfg.dim == 0 {
            return Err(ModelError::Config("fast_text needs vocab_size and dim > 0".into()));
        }
        let rows = (cfg.vocab_size + cfg.bigram_buckets) as i64;
        let bound = 1.0 / (cfg.dim as f64).sqrt();
        let embedding = p.var(
            "embedding",
            &[rows, cfg.dim as i64],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let fc = nn::linear(p / "fc", cfg.dim as i64, num_labels as i64, Default::default());
        Ok(FastText {
            embedding,
            fc,
            cfg: cfg.clone(),
            device: p.device(),
        })
    }

    /// Feature ids of one sequence: its tokens, then its hashed bigrams.
    pub fn features(&self, ids: &[i64], out: &mut Vec<i64>) {
        let vocab = self.cfg.vocab_size as i64;
        out.extend(ids.iter().map(|&i| i.clamp(0, vocab - 1)));
        if self.cfg.bigram_buckets > 0 {
            let buckets = self.cfg.bigram_buckets as u64;
            for w in ids.windows(2) {
                // A fixed multiplicative hash (fastText uses 116049371): stable across runs.
                let h = (w[0] as u64)
                    .wrapping_mul(116_049_371)
                    .wrapping_add(w[1] as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    >> 11;
                out.push(vocab + (h % buckets) as i64);
            }
        }
    }
}

impl Classifier for FastText {
    fn logits(&self, seqs: &[&[i64]], train: bool) -> Tensor {
        let mut flat = Vec::with_capacity(seqs.iter().map(|s| 2 * s.len()).sum());
        let mut offsets = Vec::with_capacity(seqs.len());
        for s in seqs {
            offsets.push(flat.len() as i64);
            self.features(s, &mut flat);
            if flat.len() as i64 == *offsets.last().unwrap_or(&0) {
                flat.push(0); // an empty sequence still gets one (padding) feature
            }
        }
        let idx = Tensor::from_slice(&flat).to_device(self.device);
        let off = Tensor::from_slice(&offsets).to_device(self.device);
        let (bag, _, _, _) = Tensor::embedding_bag::<Tensor>(
            &self.embedding,
            &idx,
            &off,
            false,
            1, // mean
            false,
            None,
            false,
        );
        let bag = bag.dropout(self.cfg.dropout, train);
        self.fc.forward(&bag).to_kind(Kind::Float)
    }
}
