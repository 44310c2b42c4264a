//! fastText-style classifier: the mean of embeddings of the tokens and of hashed token
//! bigrams, then one linear layer. Trains in seconds on a CPU.
use super::{bounds, Classifier};
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
    /// Sparse Adam moments of the embedding (first, second, step), created on first use.
    adam: std::cell::RefCell<Option<(Tensor, Tensor, i32)>>,
    fc: nn::Linear,
    cfg: FastTextConfig,
    device: Device,
}

impl FastTextConfig {
    /// Every size within [`bounds`], before anything is allocated.
    pub fn check(&self) -> Result<()> {
        bounds::size("fast_text vocab_size", self.vocab_size, bounds::MAX_VOCAB)?;
        bounds::size("fast_text dim", self.dim, bounds::MAX_WIDTH)?;
        if self.bigram_buckets > bounds::MAX_BIGRAM_BUCKETS {
            return Err(ModelError::Config(format!(
                "fast_text bigram_buckets is {}; at most {} are allowed",
                self.bigram_buckets,
                bounds::MAX_BIGRAM_BUCKETS
            )));
        }
        bounds::probability("fast_text dropout", self.dropout)?;
        bounds::parameters("fast_text", self.min_parameters(2))
    }

    /// Parameters of the model with `num_labels` outputs (the embedding and the head).
    pub fn min_parameters(&self, num_labels: usize) -> u128 {
        let rows = self.vocab_size as u128 + self.bigram_buckets as u128;
        rows * self.dim as u128 + self.dim as u128 * num_labels as u128
    }
}

impl FastText {
    pub fn new(p: &nn::Path, cfg: &FastTextConfig, num_labels: usize) -> Result<Self> {
        cfg.check()?;
        let rows = (cfg.vocab_size + cfg.bigram_buckets) as i64;
        let bound = 1.0 / (cfg.dim as f64).sqrt();
        // The embedding table is large and each batch touches few of its rows, so it gets
        // sparse gradients and a lazy (sparse) Adam step of its own instead of
        // a dense AdamW update of every row: it is registered as a non-trainable variable
        // (saved and loaded with the rest, but outside the optimizer) that still records
        // gradients.
        let mut embedding = p.zeros_no_train("embedding", &[rows, cfg.dim as i64]);
        {
            let _g = tch::no_grad_guard();
            let _ = embedding.uniform_(-bound, bound);
        }
        let embedding = embedding.set_requires_grad(true);
        let fc = nn::linear(
            p / "fc",
            cfg.dim as i64,
            num_labels as i64,
            Default::default(),
        );
        Ok(FastText {
            embedding,
            adam: std::cell::RefCell::new(None),
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
    /// Lazy (sparse) Adam on the rows of the embedding that this batch touched: the
    /// moments of other rows are left alone, as torch.optim.SparseAdam does.
    fn sparse_step(&self, lr: f64) {
        let _g = tch::no_grad_guard();
        let mut grad = self.embedding.grad();
        if !grad.defined() {
            return;
        }
        let g = grad.coalesce();
        let idx = g.indices().select(0, 0);
        let vals = g.values();
        let mut state = self.adam.borrow_mut();
        let (m, v, t) = state
            .get_or_insert_with(|| (self.embedding.zeros_like(), self.embedding.zeros_like(), 0));
        *t += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let m_rows = m.index_select(0, &idx) * b1 + &vals * (1.0 - b1);
        let v_rows = v.index_select(0, &idx) * b2 + (&vals * &vals) * (1.0 - b2);
        let _ = m.index_copy_(0, &idx, &m_rows);
        let _ = v.index_copy_(0, &idx, &v_rows);
        let m_hat = m_rows / (1.0 - b1.powi(*t));
        let v_hat = v_rows / (1.0 - b2.powi(*t));
        let update = m_hat / (v_hat.sqrt() + eps) * -lr;
        let mut emb = self.embedding.shallow_clone();
        let _ = emb.index_add_(0, &idx, &update);
        let _ = grad.zero_();
    }

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
            1,    // mean
            true, // sparse gradient
            None,
            false,
        );
        let bag = bag.dropout(self.cfg.dropout, train);
        self.fc.forward(&bag).to_kind(Kind::Float)
    }
}
