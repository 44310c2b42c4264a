//! Features of captured traffic, computed the way the baseline step computes them:
//! `token_length` (tokens before truncation), `unknown_token_rate`, `predicted_label`
//! and `token` (the vocabulary distribution, bucketed by the baseline's top tokens).
use super::MonitorError;
use crate::capture::CaptureRecord;
use models::TextTokenizer;
use std::collections::HashMap;
use std::path::Path;

/// The model's tokenizer and its id → token table.
pub struct Profiler {
    tokenizer: TextTokenizer,
    vocab: Vec<String>,
}

impl Profiler {
    /// Loads `model_dir/tokenizer.json`.
    pub fn load(model_dir: &Path) -> Result<Profiler, MonitorError> {
        let path = model_dir.join("tokenizer.json");
        let tokenizer = TextTokenizer::load(&path)
            .map_err(|e| MonitorError::Model(format!("{}: {e}", path.display())))?;
        Ok(Profiler {
            vocab: vocab_of(&path).unwrap_or_default(),
            tokenizer,
        })
    }
}

/// id → token from a tokenizer.json's `model.vocab` map (empty when not a map).
pub fn vocab_of(tokenizer_json: &Path) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(tokenizer_json).ok()?).ok()?;
    let map = v["model"]["vocab"].as_object()?;
    let mut out = vec![String::new(); map.len()];
    for (tok, id) in map {
        let i = id.as_u64()? as usize;
        if i < out.len() {
            out[i] = tok.clone();
        }
    }
    Some(out)
}

/// Current values of each feature over a window.
#[derive(Debug, Default, Clone)]
pub struct Current {
    pub records: u64,
    pub failed: u64,
    /// Instances (texts) seen.
    pub instances: u64,
    pub token_length: Vec<f64>,
    pub unknown_token_rate: Vec<f64>,
    pub predicted: HashMap<String, u64>,
    /// Instances with a prediction.
    pub predicted_present: u64,
    pub tokens: HashMap<String, u64>,
}

impl Current {
    pub fn merge(&mut self, o: Current) {
        self.records += o.records;
        self.failed += o.failed;
        self.instances += o.instances;
        self.token_length.extend(o.token_length);
        self.unknown_token_rate.extend(o.unknown_token_rate);
        self.predicted_present += o.predicted_present;
        for (k, v) in o.predicted {
            *self.predicted.entry(k).or_default() += v;
        }
        for (k, v) in o.tokens {
            *self.tokens.entry(k).or_default() += v;
        }
    }

    /// Adds records (production only; shadow copies are skipped).
    pub fn add(&mut self, records: &[CaptureRecord], profiler: Option<&Profiler>) {
        let mut texts = Vec::new();
        for r in records.iter().filter(|r| !r.shadow) {
            self.records += 1;
            let t = r.texts();
            let labels = r.labels();
            self.instances += t.len() as u64;
            if r.failed {
                self.failed += 1;
            }
            for l in labels.into_iter().flatten() {
                self.predicted_present += 1;
                *self.predicted.entry(l).or_default() += 1;
            }
            texts.extend(t);
        }
        let Some(p) = profiler else { return };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for chunk in refs.chunks(512) {
            let Ok(enc) = p.tokenizer.encode_batch(chunk, 100_000) else {
                continue;
            };
            for e in enc {
                let n = e.full_len;
                self.token_length.push(n as f64);
                self.unknown_token_rate.push(if n == 0 {
                    0.0
                } else {
                    e.unknown as f64 / n as f64
                });
                for id in e.ids {
                    let key = p
                        .vocab
                        .get(id as usize)
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .unwrap_or_else(|| format!("#{id}"));
                    *self.tokens.entry(key).or_default() += 1;
                }
            }
        }
    }

    pub fn numeric(&self, name: &str) -> Option<&[f64]> {
        match name {
            "token_length" => Some(&self.token_length),
            "unknown_token_rate" => Some(&self.unknown_token_rate),
            _ => None,
        }
    }

    pub fn categorical(&self, name: &str) -> Option<&HashMap<String, u64>> {
        match name {
            "predicted_label" => Some(&self.predicted),
            "token" => Some(&self.tokens),
            _ => None,
        }
    }
}
