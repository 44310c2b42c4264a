//! Batch-transform benchmark helper (driven by bench/transform.sh):
//!
//! - `make-input CSV OUT N`: N jsonlines records `{"id", "review_body"}` from a reviews CSV
//!   (rows repeated as needed; Title and Review Text joined as in training).
//! - `predictor MODEL INPUT`: the in-process batched `Predictor` over the same texts (held
//!   in memory; chunks of 256), as records/s.
//!
//! The transform itself is `sentio transform` (bench/transform.sh runs the binary).
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    match argv.get(1).map(String::as_str) {
        Some("make-input") => make_input(&argv[2], &argv[3], argv[4].parse()?),
        Some("predictor") => predictor(&argv[2], &argv[3]),
        _ => anyhow::bail!("usage: transform_bench make-input|predictor …"),
    }
}

fn make_input(csv_path: &str, out: &str, n: usize) -> anyhow::Result<()> {
    let mut r = csv::Reader::from_path(csv_path)?;
    let h = r.headers()?.clone();
    let col = |name: &str| h.iter().position(|c| c == name);
    let (title, body) = (col("Title"), col("Review Text"));
    let mut texts = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim().to_string();
        let t = [get(title), get(body)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(". ");
        if !t.is_empty() {
            texts.push(t);
        }
    }
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    for i in 0..n {
        serde_json::to_writer(
            &mut w,
            &serde_json::json!({"id": i, "review_body": texts[i % texts.len()]}),
        )?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn predictor(model: &str, input: &str) -> anyhow::Result<()> {
    tch::set_num_threads(1);
    let p = models::Predictor::load(std::path::Path::new(model), tch::Device::Cpu)?;
    let mut texts = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(input)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        texts.push(v["review_body"].as_str().unwrap_or("").to_string());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    p.predict(&refs[..1000.min(refs.len())])?; // warm-up
    let t = Instant::now();
    let n = p.predict(&refs)?.len();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"records\": {n}, \"seconds\": {secs:.3}, \"records_per_second\": {:.1}}}",
        n as f64 / secs
    );
    Ok(())
}
