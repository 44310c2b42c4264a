//! Helper of `bench/monitor.sh`: writes a capture folder in SageMaker's capture shape
//! (`<out>/AllTraffic/YYYY/MM/DD/HH/*.jsonl`, one JSON request and response per record)
//! from review texts, labelled by a real model.
//!
//! ```text
//! monitor_bench capture MODEL_DIR OUT_DIR RECORDS SOURCE [FILES] [--distinct]
//! ```
//! SOURCE: `csv:PATH` (every review text of the CSV), `csv1:PATH` (1-star reviews only),
//! `jsonl:PATH` (a pipeline split's data.jsonl) or `other` (generated electronics and
//! restaurant reviews). The distinct texts are predicted once, then cycled to RECORDS
//! records spread over FILES files (default 16) in hourly folders.
//!
//! `--distinct` makes every record's text unique instead of cycling the source texts:
//! record `i` is source review `i mod R` with one of its sentences (the `(i / R) mod k`-th
//! of its `k`) replaced by a sentence of another review, picked by a seeded hash of `i`
//! (a one-sentence review gets the other sentence appended). A picked sentence that would
//! repeat an earlier text is skipped for the next one, so the texts are pairwise distinct
//! (checked by 64-bit hashes) and deterministic, and their length and vocabulary stay
//! those of real reviews. The label is the model's prediction of the source review
//! (predicting a million texts would dominate the generation time; the monitor reads the
//! labels only as a distribution).
//!
//! ```text
//! monitor_bench encode CAPTURE_DIR [RECORDS]
//! ```
//! Times the capture writer's encoding alone, in a hot loop: the first RECORDS (20,000)
//! captured exchanges under CAPTURE_DIR are encoded again as the writer encodes them
//! (`CaptureRecord::new` and serde_json); prints the best of 7 passes in ns per record,
//! and the same for copying the bodies alone (`memcpy`).
use anyhow::{bail, Context, Result};
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange, Payload};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::Path;

fn csv_texts(path: &str, only_rating: Option<&str>) -> Result<Vec<String>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("reading {path}"))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let text = col("Review Text").context("no 'Review Text' column")?;
    let rating = col("Rating");
    let mut out = Vec::new();
    for row in r.records() {
        let row = row?;
        let t = row.get(text).unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        if let (Some(want), Some(i)) = (only_rating, rating) {
            if row.get(i) != Some(want) {
                continue;
            }
        }
        out.push(t.to_string());
    }
    Ok(out)
}

fn jsonl_texts(path: &str) -> Result<Vec<String>> {
    let body = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(body
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(String::from))
        .collect())
}

/// Hand-written reviews of another domain (electronics and restaurants), combined from
/// templates so there are many distinct sentences.
fn other_domain(n: usize) -> Vec<String> {
    const THINGS: [&str; 12] = [
        "laptop",
        "phone",
        "wireless headphones",
        "charger",
        "router",
        "smart watch",
        "pizza",
        "pasta",
        "burger",
        "sushi platter",
        "espresso",
        "steak",
    ];
    const OPENERS: [&str; 8] = [
        "Ordered the {t} last week and",
        "We tried the {t} on Friday night and",
        "My new {t} arrived yesterday and",
        "The {t} was recommended by a friend and",
        "Upgraded to this {t} because",
        "Our waiter suggested the {t} and",
        "After a firmware update the {t}",
        "The delivery of the {t} was late but",
    ];
    const BODIES: [&str; 10] = [
        "the battery lasts about {k} hours on a single charge.",
        "the screen is bright but the speakers sound tinny.",
        "the bluetooth connection drops every {k} minutes.",
        "the kitchen took {k} minutes and the sauce was cold.",
        "the processor benchmarks well and the fans stay quiet.",
        "the table service was friendly and the wine list is long.",
        "setup over wifi took {k} minutes with the companion app.",
        "the portion was small for {k} dollars and the fries were soggy.",
        "it overheats while gaming and the usb port feels loose.",
        "the reservation system lost our booking for {k} people.",
    ];
    (0..n)
        .map(|i| {
            let t = THINGS[i % THINGS.len()];
            let o = OPENERS[(i / THINGS.len()) % OPENERS.len()].replace("{t}", t);
            let b = BODIES[(i / 7) % BODIES.len()].replace("{k}", &(2 + i % 37).to_string());
            format!("{o} {b}")
        })
        .collect()
}

/// The sentences of a review: split after `.`, `!` or `?` followed by whitespace.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = text.as_bytes();
    for i in 1..b.len() {
        if matches!(b[i - 1], b'.' | b'!' | b'?') && b[i].is_ascii_whitespace() {
            let s = text[start..i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i;
        }
    }
    let s = text[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Pairwise distinct texts derived from real reviews (see the module comment).
struct DistinctTexts<'a> {
    reviews: Vec<Vec<&'a str>>,
    /// Every distinct sentence of every review, in first-seen order.
    pool: Vec<&'a str>,
    seen: HashSet<u64>,
}

impl<'a> DistinctTexts<'a> {
    fn new(texts: &'a [String]) -> Self {
        let reviews: Vec<Vec<&str>> = texts.iter().map(|t| sentences(t)).collect();
        let mut unique = HashSet::new();
        let pool = reviews
            .iter()
            .flatten()
            .copied()
            .filter(|s| unique.insert(*s))
            .collect();
        DistinctTexts {
            reviews,
            pool,
            seen: HashSet::new(),
        }
    }

    /// Record `i`'s text and the index of the review it comes from.
    fn text(&mut self, i: usize) -> (String, usize) {
        let r = i % self.reviews.len();
        let review = &self.reviews[r];
        let round = i / self.reviews.len();
        let mut pick = splitmix64(i as u64) as usize % self.pool.len();
        loop {
            let other = self.pool[pick];
            let text = if review.len() < 2 {
                format!("{} {other}", review.first().copied().unwrap_or(""))
            } else {
                let j = round % review.len();
                let mut parts = review.clone();
                parts[j] = other;
                parts.join(" ")
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            if self.seen.insert(h.finish()) {
                return (text, r);
            }
            pick = (pick + 1) % self.pool.len();
        }
    }
}

fn capture(
    model: &Path,
    out: &Path,
    records: usize,
    source: &str,
    files: usize,
    distinct: bool,
) -> Result<()> {
    let texts = match source.split_once(':') {
        Some(("csv", p)) => csv_texts(p, None)?,
        Some(("csv1", p)) => csv_texts(p, Some("1"))?,
        Some(("jsonl", p)) => jsonl_texts(p)?,
        None if source == "other" => other_domain(records.min(5000)),
        _ => bail!("unknown source {source}"),
    };
    if texts.is_empty() {
        bail!("no texts in {source}");
    }
    let predictor = models::Predictor::load(model, tch::Device::Cpu)?;
    let version = predictor.version().to_string();
    let mut labels = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        labels.extend(predictor.predict(&refs)?.into_iter().map(|p| p.label));
    }
    let inputs: Vec<String> = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    let outputs: Vec<String> = labels
        .iter()
        .map(|l| serde_json::json!({ "label": l }).to_string())
        .collect();
    let mut derived = distinct.then(|| DistinctTexts::new(&texts));
    let files = files.clamp(1, 24);
    let per_file = records.div_ceil(files);
    for f in 0..files {
        let dir = out.join(format!("AllTraffic/2026/11/25/{f:02}"));
        std::fs::create_dir_all(&dir)?;
        let mut w = BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join(format!("capture-{f:02}.jsonl")))?,
        );
        for i in f * per_file..((f + 1) * per_file).min(records) {
            let unique;
            let (input, k) = match derived.as_mut() {
                Some(d) => {
                    let (text, k) = d.text(i);
                    unique = serde_json::json!({ "text": text }).to_string();
                    (unique.as_str(), k)
                }
                None => (inputs[i % texts.len()].as_str(), i % texts.len()),
            };
            let id = format!("bench-{i}");
            let e = Exchange::json(
                "AllTraffic",
                &version,
                &id,
                input.as_bytes(),
                outputs[k].as_bytes(),
            );
            serde_json::to_writer(&mut w, &CaptureRecord::new(&e, &CaptureFormat::default()))?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    let distinct_texts = match &derived {
        Some(d) => d.seen.len(),
        None => texts.len().min(records),
    };
    println!(
        "{records} records, {distinct_texts} distinct texts (from {} source texts, {source}) in {files} files under {}",
        texts.len(),
        out.display()
    );
    Ok(())
}

fn encode(dir: &Path, records: usize) -> Result<()> {
    let mut exchanges = Vec::new();
    monitoring::capture::visit_dir(dir, |r| {
        if exchanges.len() < records {
            let body = |p: &Option<Payload>| p.as_ref().and_then(|p| p.bytes()).unwrap_or_default();
            exchanges.push((
                r.variant.clone(),
                r.model_version.clone(),
                r.join_id().to_string(),
                body(&r.capture_data.endpoint_input),
                body(&r.capture_data.endpoint_output),
            ));
        }
    })
    .with_context(|| format!("reading {}", dir.display()))?;
    if exchanges.is_empty() {
        bail!("no capture records under {}", dir.display());
    }
    let format = CaptureFormat::default();
    let encode_one = |i: usize, out: &mut Vec<u8>| {
        let (v, m, id, input, output) = &exchanges[i];
        let e = Exchange::json(v, m, id, input, output);
        serde_json::to_writer(&mut *out, &CaptureRecord::new(&e, &format)).expect("to memory");
        out.push(b'\n');
    };
    let mut out = Vec::with_capacity(1 << 20);
    let mut best = |f: &dyn Fn(usize, &mut Vec<u8>)| {
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            for i in 0..exchanges.len() {
                f(i, &mut out);
                if out.len() > 256 * 1024 {
                    out.clear();
                }
            }
            best = best.min(t.elapsed().as_nanos() as f64 / exchanges.len() as f64);
        }
        best
    };
    let line = best(&encode_one);
    let copy = best(&|i, out: &mut Vec<u8>| {
        out.extend_from_slice(&exchanges[i].3);
        out.extend_from_slice(&exchanges[i].4);
    });
    let bytes: usize = (0..exchanges.len())
        .map(|i| {
            let mut v = Vec::new();
            encode_one(i, &mut v);
            v.len()
        })
        .sum();
    println!(
        "{} records, {:.0} bytes a line: encode {line:.0} ns/record, memcpy of the bodies {copy:.0} ns/record (best of 7)",
        exchanges.len(),
        bytes as f64 / exchanges.len() as f64
    );
    Ok(())
}

fn main() -> Result<()> {
    let all: Vec<String> = std::env::args().collect();
    let distinct = all.iter().any(|a| a == "--distinct");
    let args: Vec<&String> = all.iter().filter(|a| *a != "--distinct").collect();
    match args.get(1).map(|s| s.as_str()) {
        Some("capture") if args.len() >= 6 => {
            let files = args.get(6).map(|s| s.parse()).transpose()?.unwrap_or(16);
            capture(
                Path::new(args[2]),
                Path::new(args[3]),
                args[4].parse()?,
                args[5],
                files,
                distinct,
            )
        }
        Some("encode") if args.len() >= 3 => {
            let records = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(20_000);
            encode(Path::new(args[2]), records)
        }
        _ => bail!(
            "usage: monitor_bench capture MODEL_DIR OUT_DIR RECORDS SOURCE [FILES] [--distinct]\n       monitor_bench encode CAPTURE_DIR [RECORDS]"
        ),
    }
}
