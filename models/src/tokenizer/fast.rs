//! An ids-only path for BERT-style WordPiece tokenizers (`BertNormalizer`,
//! `BertPreTokenizer`, `WordPiece`: ours, and uncased BERT checkpoints), giving exactly the
//! ids of the `tokenizers` pipeline without its offsets, alignment tracking and
//! per-token strings, which dominate its cost (~20x here).
//!
//! The text is split at ASCII whitespace (` `, `\t`, `\n`, `\r`), which that pipeline
//! turns into separators that never join tokens, so the ids of a text are the ids of its
//! chunks in order. A chunk of printable ASCII that contains no added token takes this
//! path: lower-casing (the normalizer's, which for ASCII is all it does), splitting off
//! each ASCII punctuation character (the pre-tokenizer's), then the WordPiece greedy
//! longest-match (the model's). Any other chunk (non-ASCII, control characters, a possible
//! added token) is given to the `tokenizers` pipeline as it is.
use rustc_hash::FxHashMap;
use tokenizers::{Model, ModelWrapper, NormalizerWrapper, PreTokenizerWrapper, Tokenizer};

pub(super) struct FastPath {
    vocab: FxHashMap<String, u32>,
    unk: u32,
    prefix: String,
    max_chars: usize,
    lowercase: bool,
    /// Ids the post-processor puts before and after a single sequence.
    before: Vec<u32>,
    after: Vec<u32>,
    /// Lower-cased contents of the added tokens: a chunk containing one (in any case) goes
    /// to the `tokenizers` pipeline.
    added: Vec<String>,
    /// Their first bytes, a quick test before the full one.
    added_first: Vec<u8>,
}

/// A chunk the ids-only path may take: printable ASCII.
fn printable(chunk: &str) -> bool {
    chunk.bytes().all(|b| (0x20..0x7f).contains(&b))
}

impl FastPath {
    /// The fast path of `tk`, or `None` when its pipeline is not one this path reproduces.
    /// `tk` must have no padding and no truncation.
    pub(super) fn new(tk: &Tokenizer) -> Option<FastPath> {
        let Some(NormalizerWrapper::BertNormalizer(norm)) = tk.get_normalizer() else {
            return None;
        };
        let Some(PreTokenizerWrapper::BertPreTokenizer(_)) = tk.get_pre_tokenizer() else {
            return None;
        };
        let ModelWrapper::WordPiece(wp) = tk.get_model() else {
            return None;
        };
        let vocab: FxHashMap<String, u32> = wp.get_vocab().into_iter().collect();
        let unk = *vocab.get(&wp.unk_token)?;
        let mut added = Vec::new();
        for t in tk.get_added_tokens_decoder().values() {
            if t.content.is_empty() || t.content.chars().any(char::is_whitespace) {
                return None;
            }
            added.push(t.content.to_lowercase());
        }
        let mut added_first: Vec<u8> = added.iter().map(|a| a.as_bytes()[0]).collect();
        added_first.sort_unstable();
        added_first.dedup();
        let mut fast = FastPath {
            vocab,
            unk,
            prefix: wp.continuing_subword_prefix.clone(),
            max_chars: wp.max_input_chars_per_word,
            lowercase: norm.lowercase,
            before: Vec::new(),
            after: Vec::new(),
            added,
            added_first,
        };
        // The special tokens: those of an empty text, split around a one-word text's ids.
        let ids = |text: &str| -> Option<Vec<u32>> {
            Some(tk.encode_fast(text, true).ok()?.get_ids().to_vec())
        };
        let empty = ids("")?;
        let word = ids("a")?;
        let mut content = Vec::new();
        fast.chunk("a", &mut String::new(), &mut content);
        let n = content.len();
        let at = (0..=word.len().checked_sub(n)?).find(|&i| {
            word[i..i + n] == content[..] && [&word[..i], &word[i + n..]].concat() == empty
        })?;
        fast.before = word[..at].to_vec();
        fast.after = word[at + n..].to_vec();
        Some(fast)
    }

    /// Appends the ids of `text` (special tokens included) to `out`.
    pub(super) fn encode(
        &self,
        tk: &Tokenizer,
        text: &str,
        out: &mut Vec<u32>,
    ) -> tokenizers::Result<()> {
        out.extend_from_slice(&self.before);
        let mut scratch = String::new();
        for chunk in text.split([' ', '\t', '\n', '\r']) {
            if chunk.is_empty() {
                continue;
            }
            if printable(chunk) && !self.has_added(chunk) {
                self.chunk(chunk, &mut scratch, out);
            } else {
                out.extend_from_slice(tk.encode_fast(chunk, false)?.get_ids());
            }
        }
        out.extend_from_slice(&self.after);
        Ok(())
    }

    fn has_added(&self, chunk: &str) -> bool {
        let maybe = chunk
            .bytes()
            .any(|b| self.added_first.contains(&b.to_ascii_lowercase()));
        maybe && {
            let lower = chunk.to_ascii_lowercase();
            self.added.iter().any(|a| lower.contains(a.as_str()))
        }
    }

    /// A printable-ASCII chunk: words of non-punctuation characters, each punctuation
    /// character a word of its own.
    fn chunk(&self, chunk: &str, scratch: &mut String, out: &mut Vec<u32>) {
        let mut start = None;
        for (i, b) in chunk.bytes().enumerate() {
            if b.is_ascii_punctuation() {
                if let Some(s) = start.take() {
                    self.word(&chunk[s..i], scratch, out);
                }
                self.word(&chunk[i..i + 1], scratch, out);
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            self.word(&chunk[s..], scratch, out);
        }
    }

    fn word(&self, word: &str, scratch: &mut String, out: &mut Vec<u32>) {
        // ASCII: one byte per character.
        if word.len() > self.max_chars {
            out.push(self.unk);
            return;
        }
        let mut lowered = [0u8; 64];
        let lowered_long;
        let word = if !self.lowercase || !word.bytes().any(|b| b.is_ascii_uppercase()) {
            word
        } else if word.len() <= lowered.len() {
            let l = &mut lowered[..word.len()];
            l.copy_from_slice(word.as_bytes());
            l.make_ascii_lowercase();
            std::str::from_utf8(l).expect("ASCII")
        } else {
            lowered_long = word.to_ascii_lowercase();
            lowered_long.as_str()
        };
        self.wordpiece(word, scratch, out);
    }

    /// WordPiece's greedy longest-match-first; a word with an unmatched rest is one
    /// unknown token.
    fn wordpiece(&self, word: &str, scratch: &mut String, out: &mut Vec<u32>) {
        let first = out.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                if start == end {
                    break None;
                }
                let id = if start == 0 {
                    self.vocab.get(&word[..end])
                } else {
                    scratch.clear();
                    scratch.push_str(&self.prefix);
                    scratch.push_str(&word[start..end]);
                    self.vocab.get(scratch.as_str())
                };
                if let Some(&id) = id {
                    break Some(id);
                }
                end -= 1;
            };
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(first);
                    out.push(self.unk);
                    return;
                }
            }
        }
    }
}
