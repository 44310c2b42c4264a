//! The features of texts, one definition for the baseline (training texts) and the drift
//! monitor (captured traffic): `token_length` (tokens before truncation),
//! `unknown_token_rate`, `predicted_label` and `token` (the vocabulary distribution,
//! bucketed by the baseline's top tokens).
use crate::capture::{CaptureRecord, Side};
use crate::MonitoringError;
use models::TextTokenizer;
use std::collections::HashMap;
use std::path::Path;

/// The model's tokenizer and its id → token table.
pub struct Profiler {
    tokenizer: TextTokenizer,
    vocab: Vec<String>,
    unk: Option<u32>,
}

impl Profiler {
    /// Loads `model_dir/tokenizer.json`.
    pub fn load(model_dir: &Path) -> Result<Profiler, MonitoringError> {
        let path = model_dir.join("tokenizer.json");
        let tokenizer = TextTokenizer::load(&path)
            .map_err(|e| MonitoringError::Model(format!("{}: {e}", path.display())))?;
        Ok(Profiler {
            vocab: vocab_of(&path).unwrap_or_default(),
            unk: tokenizer.unk_id().and_then(|u| u32::try_from(u).ok()),
            tokenizer,
        })
    }
}

/// id → token of a tokenizer.json (see [`models::tokenizer::vocab_table`]).
pub use models::tokenizer::vocab_table as vocab_of;

/// The side of the exchange a feature is computed from: the response for
/// `predicted_label`, the request for the text features.
pub fn side_of(feature: &str) -> Side {
    match feature {
        "predicted_label" => Side::Output,
        _ => Side::Input,
    }
}

/// Current values of each feature over a window.
#[derive(Debug, Default, Clone)]
pub struct Current {
    pub records: u64,
    /// Records carrying the request (`endpointInput`) and the response
    /// (`endpointOutput`): all of them unless the endpoint captures one side only.
    pub with_input: u64,
    pub with_output: u64,
    pub failed: u64,
    /// Instances (texts) seen.
    pub instances: u64,
    /// Instances of the records that carry both sides (what prediction completeness is
    /// measured against).
    pub output_instances: u64,
    /// Texts the tokenizer failed on (left out of the text features).
    pub unprofiled: u64,
    /// Finished lines of the capture files that are not capture records.
    pub unreadable: u64,
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
        self.with_input += o.with_input;
        self.with_output += o.with_output;
        self.failed += o.failed;
        self.instances += o.instances;
        self.output_instances += o.output_instances;
        self.unprofiled += o.unprofiled;
        self.unreadable += o.unreadable;
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

    /// Adds records (production only; shadow copies are skipped): their outcome, their
    /// predictions and, with a profiler, their texts ([`Current::add_texts`]).
    pub fn add(&mut self, records: &[CaptureRecord], profiler: Option<&Profiler>) {
        let mut texts: Vec<String> = Vec::new();
        for r in records.iter().filter(|r| !r.shadow) {
            self.records += 1;
            let has_output = r.capture_data.endpoint_output.is_some();
            self.with_input += u64::from(r.capture_data.endpoint_input.is_some());
            self.with_output += u64::from(has_output);
            if r.failed {
                self.failed += 1;
            }
            for l in r.labels().into_iter().flatten() {
                self.add_prediction(l);
            }
            let mine = r.texts();
            self.instances += mine.len() as u64;
            if has_output {
                self.output_instances += mine.len() as u64;
            }
            if profiler.is_some() {
                texts.extend(mine);
            }
        }
        if let Some(p) = profiler {
            self.add_texts(&texts, p);
        }
    }

    /// Counts one predicted label.
    pub fn add_prediction(&mut self, label: String) {
        self.predicted_present += 1;
        match self.predicted.get_mut(label.as_str()) {
            Some(c) => *c += 1,
            None => {
                self.predicted.insert(label, 1);
            }
        }
    }

    /// Profiles texts: every text is tokenized (untruncated, on the tokenizer's ids-only
    /// path where it has one: see [`TextTokenizer::ids_into`]); token ids are counted in a
    /// vector and named once per call (`#id` for an id the vocabulary does not name).
    pub fn add_texts<S: AsRef<str>>(&mut self, texts: &[S], p: &Profiler) {
        let mut ids: Vec<u32> = Vec::new();
        let mut by_id = vec![0u64; p.vocab.len()];
        for t in texts {
            ids.clear();
            if p.tokenizer.ids_into(t.as_ref(), &mut ids).is_err() {
                self.unprofiled += 1;
                continue;
            }
            let n = ids.len();
            let unknown = p.unk.map_or(0, |u| ids.iter().filter(|&&i| i == u).count());
            self.token_length.push(n as f64);
            self.unknown_token_rate.push(if n == 0 {
                0.0
            } else {
                unknown as f64 / n as f64
            });
            for &id in &ids {
                match by_id.get_mut(id as usize) {
                    Some(c) => *c += 1,
                    None => *self.tokens.entry(format!("#{id}")).or_default() += 1,
                }
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

    /// Records carrying the side of the exchange a feature is computed from
    /// ([`side_of`]).
    pub fn carrying(&self, name: &str) -> u64 {
        match side_of(name) {
            Side::Output => self.with_output,
            Side::Input => self.with_input,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, Exchange};

    fn record(input: &str, output: &str, shadow: bool) -> CaptureRecord {
        let e = Exchange {
            shadow,
            ..Exchange::json("A", "v", "id", input.as_bytes(), output.as_bytes())
        };
        CaptureRecord::new(&e, &CaptureFormat::default())
    }

    #[test]
    fn every_text_is_profiled_as_the_tokenizer_encodes_it() {
        let corpus = [
            "I love this dress",
            "the zipper broke",
            "fits well, love it",
        ];
        let tk = TextTokenizer::train_wordpiece(corpus.iter(), 50, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        tk.save(&dir.path().join("tokenizer.json")).unwrap();
        let p = Profiler::load(dir.path()).unwrap();
        let texts = ["I LOVE this dress!", "zipper broke, xylophone caf\u{e9}"];
        let records = vec![
            record(
                &serde_json::json!({ "instances": texts }).to_string(),
                r#"{"predictions":[{"label":"pos"},{"label":"neg"}]}"#,
                false,
            ),
            record(
                r#"{"text":"I love this dress"}"#,
                r#"{"label":"pos"}"#,
                true,
            ),
        ];
        let mut cur = Current::default();
        cur.add(&records, Some(&p));
        assert_eq!((cur.records, cur.instances, cur.unprofiled), (1, 2, 0));
        assert_eq!(cur.predicted_present, 2);
        let want = tk.encode_batch_pipeline(&texts, usize::MAX).unwrap();
        let lengths: Vec<f64> = want.iter().map(|e| e.full_len as f64).collect();
        assert_eq!(cur.token_length, lengths);
        let rates: Vec<f64> = want
            .iter()
            .map(|e| e.unknown as f64 / e.full_len as f64)
            .collect();
        assert_eq!(cur.unknown_token_rate, rates);
        assert!(rates[1] > 0.0, "xylophone and café are unknown: {rates:?}");
        let vocab = vocab_of(&dir.path().join("tokenizer.json")).unwrap();
        let mut tokens = HashMap::new();
        for id in want.iter().flat_map(|e| &e.ids) {
            *tokens.entry(vocab[*id as usize].clone()).or_insert(0u64) += 1;
        }
        assert_eq!(cur.tokens, tokens);
    }
}
