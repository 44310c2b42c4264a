//! Tokenizer throughput on real reviews: the `tokenizers` pipeline (`encode_batch`, as the
//! predictor calls it; parallel on rayon's threads) vs the ids-only path (`ids_into`, one
//! text at a time on one thread).
//!
//! ```text
//! cargo run --release -p models --example tokenize_bench -- TOKENIZER_JSON REVIEWS_CSV
//! ```
use models::TextTokenizer;
use std::time::Instant;

fn rate(name: &str, texts: usize, mut f: impl FnMut() -> usize) {
    let t = Instant::now();
    let tokens = f();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name:<40} {:>9.0} texts/s  ({tokens} tokens, {s:.2} s)",
        texts as f64 / s
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tok), Some(csv_path)) = (args.get(1), args.get(2)) else {
        return Err("usage: tokenize_bench TOKENIZER_JSON REVIEWS_CSV".into());
    };
    let tk = TextTokenizer::load(std::path::Path::new(tok))?;
    let mut r = csv::Reader::from_path(csv_path)?;
    let col = r
        .headers()?
        .iter()
        .position(|h| h == "Review Text")
        .ok_or("no Review Text column")?;
    let texts: Vec<String> = r
        .records()
        .filter_map(|row| row.ok()?.get(col).map(str::to_string))
        .filter(|t| !t.trim().is_empty())
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    println!(
        "{} texts, ids-only path: {}",
        texts.len(),
        tk.has_fast_ids()
    );
    rate("encode_batch (pipeline, rayon)", refs.len(), || {
        refs.chunks(512)
            .map(|c| {
                let enc = tk.encode_batch(c, usize::MAX).unwrap();
                enc.iter().map(|e| e.ids.len()).sum::<usize>()
            })
            .sum()
    });
    let mut ids = Vec::new();
    rate("ids_into (ids-only path, 1 thread)", refs.len(), || {
        let mut n = 0;
        for t in &refs {
            ids.clear();
            tk.ids_into(t, &mut ids).unwrap();
            n += ids.len();
        }
        n
    });
    Ok(())
}
