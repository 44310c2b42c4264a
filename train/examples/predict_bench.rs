//! Batched CPU inference throughput of a model artifact, tokenization included:
//! `cargo run --release -p train --example predict_bench -- MODEL_DIR DATA.csv [SECONDS]`.
//! Prints reviews/s for batches of 1, 32 and 256 (median of 5 runs, with min–max).
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: predict_bench MODEL_DIR DATA.csv [SECONDS_PER_RUN]".into());
    }
    let secs: f64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let predictor = models::Predictor::load(args[1].as_ref(), tch::Device::Cpu)?;
    let cfg = train::DataConfig::new(&args[2]);
    let table = train::load_table(&cfg)?;
    let (ds, _) = train::Dataset::from_table(&table, &cfg)?;
    let texts: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
    println!(
        "model {} ({}), {} texts, torch threads {}",
        predictor.version(),
        predictor.architecture(),
        texts.len(),
        tch::get_num_threads()
    );
    for batch in [1usize, 32, 256] {
        let mut rates = Vec::new();
        for _ in 0..5 {
            let (start, mut done, mut i) = (Instant::now(), 0usize, 0usize);
            while start.elapsed() < Duration::from_secs_f64(secs) {
                let end = (i + batch).min(texts.len());
                let chunk = &texts[i..end];
                std::hint::black_box(predictor.predict(chunk)?);
                done += chunk.len();
                i = if end == texts.len() { 0 } else { end };
            }
            rates.push(done as f64 / start.elapsed().as_secs_f64());
        }
        rates.sort_by(|a, b| a.total_cmp(b));
        println!(
            "batch {batch:>3}: {:>9.0} reviews/s (median of 5; min {:.0}, max {:.0})",
            rates[2], rates[0], rates[4]
        );
    }
    Ok(())
}
