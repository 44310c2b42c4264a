//! Features of captured traffic, computed the way the baseline step computes them:
//! `token_length` (tokens before truncation), `unknown_token_rate`, `predicted_label`
//! and `token` (the vocabulary distribution, bucketed by the baseline's top tokens).
use super::MonitorError;
use crate::capture::CaptureRecord;
use models::TextTokenizer;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The model's tokenizer and its id → token table.
pub struct Profiler {
    tokenizer: TextTokenizer,
    vocab: Vec<String>,
    /// Profiles of texts already tokenized, shared by the reading threads.
    cache: Mutex<HashMap<String, Arc<Profiled>>>,
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
            cache: Mutex::default(),
        })
    }
}

/// id → token of a tokenizer.json (see [`models::tokenizer::vocab_table`]).
pub use models::tokenizer::vocab_table as vocab_of;

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

/// Distinct texts whose profile a [`Profiler`] keeps, at most.
const CACHE_TEXTS: usize = 200_000;

#[derive(Debug)]
struct Profiled {
    full_len: usize,
    unknown: usize,
    ids: Box<[i64]>,
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

    /// Adds records (production only; shadow copies are skipped). Each distinct text is
    /// tokenized once: its profile is kept in a bounded per-`Current` cache, so repeated
    /// texts (retries, templated traffic, popular queries) cost a lookup. The cache is the
    /// profiler's, shared by the threads of one run.
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
        let mut todo: Vec<&str> = Vec::new();
        let mut queued: HashSet<&str> = HashSet::new();
        let mut known: HashMap<&str, Arc<Profiled>> = HashMap::new();
        {
            let cache = p.cache.lock().unwrap_or_else(|e| e.into_inner());
            for t in &texts {
                if known.contains_key(t.as_str()) {
                    continue;
                }
                match cache.get(t.as_str()) {
                    Some(e) => {
                        known.insert(t, e.clone());
                    }
                    None => {
                        if queued.insert(t.as_str()) {
                            todo.push(t);
                        }
                    }
                }
            }
        }
        let mut fresh: HashMap<&str, Arc<Profiled>> = HashMap::with_capacity(todo.len());
        for chunk in todo.chunks(512) {
            let Ok(enc) = p.tokenizer.encode_batch(chunk, 100_000) else {
                continue;
            };
            for (t, e) in chunk.iter().zip(enc) {
                fresh.insert(
                    t,
                    Arc::new(Profiled {
                        full_len: e.full_len,
                        unknown: e.unknown,
                        ids: e.ids.into_boxed_slice(),
                    }),
                );
            }
        }
        let mut by_id = vec![0u64; p.vocab.len()];
        for t in &texts {
            let Some(e) = known.get(t.as_str()).or_else(|| fresh.get(t.as_str())) else {
                continue;
            };
            let n = e.full_len;
            self.token_length.push(n as f64);
            self.unknown_token_rate.push(if n == 0 {
                0.0
            } else {
                e.unknown as f64 / n as f64
            });
            for &id in e.ids.iter() {
                match usize::try_from(id).ok().filter(|&i| i < by_id.len()) {
                    Some(i) => by_id[i] += 1,
                    None => *self.tokens.entry(format!("#{id}")).or_default() += 1,
                }
            }
        }
        if !fresh.is_empty() {
            let mut cache = p.cache.lock().unwrap_or_else(|e| e.into_inner());
            for (t, e) in fresh {
                if cache.len() >= CACHE_TEXTS {
                    break;
                }
                cache.insert(t.to_string(), e);
            }
        }
        for (id, c) in by_id.into_iter().enumerate().filter(|x| x.1 > 0) {
            match p.vocab.get(id).filter(|s| !s.is_empty()) {
                Some(tok) => match self.tokens.get_mut(tok.as_str()) {
                    Some(v) => *v += c,
                    None => {
                        self.tokens.insert(tok.clone(), c);
                    }
                },
                None => *self.tokens.entry(format!("#{id}")).or_default() += c,
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
