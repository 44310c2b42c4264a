//! The drift monitor on the real reviews (../shared/data; skipped when absent): a baseline
//! from 90 % of the reviews (tokenizer trained on them, labels from the rating), then a
//! held-out sample of the other 10 % is not flagged, while 1-star reviews only and
//! generated electronics / restaurant reviews of the same size are.
use monitoring::baseline;
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange};
use monitoring::drift::{run_once, Baselines, CheckType, MonitorConfig, RunStatus, Thresholds};
use monitoring::profile::{Current, Profiler};
use std::io::Write;
use std::path::{Path, PathBuf};

fn data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/womens_clothing_ecommerce_reviews.csv");
    p.is_file().then_some(p)
}

const LABELS: [&str; 3] = ["negative", "neutral", "positive"];

fn label_of(rating: &str) -> usize {
    match rating {
        "1" | "2" => 0,
        "3" => 1,
        _ => 2,
    }
}

/// `(text, rating, label index)` of every review with a text.
fn reviews(path: &Path) -> Vec<(String, String, usize)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let text = h.iter().position(|c| c == "Review Text").unwrap();
    let rating = h.iter().position(|c| c == "Rating").unwrap();
    r.records()
        .filter_map(|row| {
            let row = row.ok()?;
            let t = row.get(text)?.trim();
            let g = row.get(rating)?.to_string();
            (!t.is_empty()).then(|| (t.to_string(), g.clone(), label_of(&g)))
        })
        .collect()
}

fn other_domain(n: usize) -> Vec<(String, usize)> {
    let things = [
        "laptop", "phone", "router", "charger", "pizza", "burger", "espresso", "sushi",
    ];
    let bodies = [
        "the battery lasts {k} hours and the screen is bright",
        "the bluetooth connection drops every {k} minutes",
        "the kitchen took {k} minutes and the sauce was cold",
        "the waiter was friendly and the wine list is long",
        "setup over wifi took {k} minutes with the app",
        "it overheats while gaming and the usb port is loose",
    ];
    (0..n)
        .map(|i| {
            let b = bodies[(i / 8) % bodies.len()].replace("{k}", &(2 + i % 31).to_string());
            (
                format!("Bought the {} last week and {b}.", things[i % 8]),
                (i % 3),
            )
        })
        .collect()
}

fn write_capture(dir: &Path, items: &[(String, usize)]) {
    let d = dir.join("AllTraffic/2026/11/25/00");
    std::fs::create_dir_all(&d).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(d.join("c.jsonl")).unwrap());
    for (i, (t, k)) in items.iter().enumerate() {
        let input = serde_json::json!({ "text": t }).to_string();
        let output = serde_json::json!({ "label": LABELS[*k] }).to_string();
        let id = format!("id-{i}");
        let e = Exchange::json(
            "AllTraffic",
            "real-data",
            &id,
            input.as_bytes(),
            output.as_bytes(),
        );
        serde_json::to_writer(&mut f, &CaptureRecord::new(&e, &CaptureFormat::default())).unwrap();
        f.write_all(b"\n").unwrap();
    }
}

#[test]
fn real_reviews_held_out_not_flagged_shifted_flagged() {
    let Some(path) = data() else {
        eprintln!("SKIPPED: ../shared/data/womens_clothing_ecommerce_reviews.csv not found; the real-data drift test did not run");
        return;
    };
    let all = reviews(&path);
    assert!(all.len() > 10_000);
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for (i, r) in all.iter().enumerate() {
        if i % 10 == 0 { &mut held } else { &mut train }.push(r);
    }
    held.truncate(2000);
    let n = held.len();

    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    let tk = models::TextTokenizer::train_wordpiece(train.iter().map(|r| r.0.as_str()), 8000, 2)
        .unwrap();
    tk.save(&model.join("tokenizer.json")).unwrap();

    // The baseline, as the pipeline's baseline step writes it.
    let profiler = Profiler::load(&model).unwrap();
    let mut profiled = Current::default();
    for chunk in train.chunks(512) {
        let texts: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
        profiled.add_texts(&texts, &profiler);
    }
    let labels: Vec<String> = LABELS.iter().map(|s| s.to_string()).collect();
    let predicted: Vec<usize> = train.iter().map(|r| r.2).collect();
    let (s, c) = baseline::from_profile(&profiled, &predicted, &labels);
    let baseline = model.join("baseline");
    baseline::write(&baseline, &s, &c).unwrap();

    let one_star: Vec<&(String, String, usize)> = all.iter().filter(|r| r.1 == "1").collect();
    let samples: [(&str, Vec<(String, usize)>); 3] = [
        (
            "held_out",
            held.iter().map(|r| (r.0.clone(), r.2)).collect(),
        ),
        (
            "one_star",
            (0..n)
                .map(|i| one_star[i % one_star.len()])
                .map(|r| (r.0.clone(), r.2))
                .collect(),
        ),
        ("other_domain", other_domain(n)),
    ];
    for (name, items) in &samples {
        let cap = dir.path().join(name);
        write_capture(&cap, items);
        let r = run_once(&MonitorConfig {
            capture_dir: cap,
            baselines: Baselines::One {
                baseline_dir: baseline.clone(),
                model_dir: Some(model.clone()),
            },
            window: None,
            thresholds: Thresholds::default(),
            out_dir: dir.path().join(format!("out-{name}")),
            threads: 2,
        })
        .unwrap()
        .into_single()
        .unwrap();
        assert_eq!(r.status, RunStatus::Completed);
        assert_eq!(r.records, n as u64);
        for f in &r.features {
            eprintln!(
                "{name:<13} {:<20} PSI {:.4} JS {:.4} p {:.2e} drift {}",
                f.name, f.psi, f.js_distance, f.p_value, f.drift
            );
        }
        let drifted: Vec<&str> = r
            .violations
            .iter()
            .filter(|v| v.constraint_check_type == CheckType::BaselineDriftCheck)
            .map(|v| v.feature_name.as_str())
            .collect();
        match *name {
            "held_out" => assert!(r.violations.is_empty(), "{:#?}", r.violations),
            "one_star" => assert!(drifted.contains(&"predicted_label"), "{drifted:?}"),
            _ => {
                for f in ["token_length", "unknown_token_rate", "token"] {
                    assert!(drifted.contains(&f), "{f} not flagged: {drifted:?}");
                }
            }
        }
    }
}
