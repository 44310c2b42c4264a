//! An experiment report kept up to date incrementally equals the report computed from
//! scratch over everything, whatever arrives in which order: records appended to capture
//! files (a line still being written read again once whole), ground truth before or after
//! its prediction, a later label replacing an earlier one, shadow answers before their
//! production answer. The report has one `p_value`, and matches its JSON schema.
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange};
use monitoring::experiment::{report, Experiment, ReportOptions, Tally};
use monitoring::feedback::FeedbackRecord;
use std::io::Write;
use std::path::Path;

fn record(variant: &str, id: &str, label: &str, shadow: bool, ms: u64) -> CaptureRecord {
    let out = serde_json::json!({ "label": label }).to_string();
    let e = Exchange {
        shadow,
        latency: std::time::Duration::from_millis(ms),
        ..Exchange::json(variant, "v", id, br#"{"text":"x"}"#, out.as_bytes())
    };
    CaptureRecord::new(&e, &CaptureFormat::default())
}

fn truth(id: &str, label: &str) -> FeedbackRecord {
    FeedbackRecord {
        inference_id: id.into(),
        labels: vec![label.into()],
        at: None,
    }
}

fn append(path: &Path, lines: &[String], partial: Option<&str>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    if let Some(p) = partial {
        write!(f, "{p}").unwrap();
    }
}

fn line<T: serde::Serialize>(t: &T) -> String {
    serde_json::to_string(t).unwrap()
}

#[test]
fn an_incremental_report_equals_the_report_from_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let (cap, fb) = (dir.path().join("cap/ep"), dir.path().join("feedback"));
    let mut e = Experiment::new("ab", "ep", vec!["A".into(), "B".into()]).unwrap();
    e.shadow = Some("S".into());
    e.started_at -= chrono::Duration::hours(1);
    let opts = ReportOptions {
        min_samples: 10,
        ..ReportOptions::default()
    };
    let file = |v: &str| cap.join(v).join("2026/12/01/10/part.jsonl");

    let mut all_records = Vec::new();
    let mut all_truth = Vec::new();
    // Round 1: A and B answer; truth for some, including one before its prediction.
    let mut r1 = Vec::new();
    for i in 0..60 {
        let (v, label) = if i % 2 == 0 {
            ("A", "pos")
        } else {
            ("B", "neg")
        };
        r1.push(record(v, &format!("id-{i}"), label, false, 5 + i));
    }
    let shadow_early = record("S", "id-70", "pos", true, 3);
    append(&file("S"), &[line(&shadow_early)], None);
    for v in ["A", "B"] {
        let mine: Vec<String> = r1.iter().filter(|r| r.variant == v).map(line).collect();
        append(&file(v), &mine, None);
    }
    let t1: Vec<FeedbackRecord> = (0..50)
        .map(|i| truth(&format!("id-{i}"), if i % 3 == 0 { "neg" } else { "pos" }))
        .chain([truth("id-70", "pos")])
        .collect();
    append(
        &fb.join("0001.jsonl"),
        &t1.iter().map(line).collect::<Vec<_>>(),
        None,
    );
    all_records.extend(r1);
    all_records.push(shadow_early);
    all_truth.extend(t1);

    let mut tally = Tally::new(e.clone());
    tally.read_new(&cap, &fb).unwrap();
    assert_eq!(
        line(&tally.report(&opts)),
        line(&report(&e, &all_records, &all_truth, &opts))
    );

    // Round 2: more answers (one line half written), a replaced label, the production
    // answer of the early shadow, and a line that is no record.
    let r2: Vec<CaptureRecord> = (60..80)
        .map(|i| record("A", &format!("id-{i}"), "pos", false, 20))
        .collect();
    let half = line(&r2[19]);
    let (head, tail) = half.split_at(half.len() / 2);
    append(
        &file("A"),
        &r2[..19]
            .iter()
            .map(line)
            .chain(["not a record".to_string()])
            .collect::<Vec<_>>(),
        Some(head),
    );
    let t2 = vec![truth("id-0", "pos"), truth("id-75", "pos")];
    append(
        &fb.join("0002.jsonl"),
        &t2.iter().map(line).collect::<Vec<_>>(),
        None,
    );
    tally.read_new(&cap, &fb).unwrap();
    append(&file("A"), &[], Some(&format!("{tail}\n")));
    tally.read_new(&cap, &fb).unwrap();
    all_records.extend(r2);
    all_truth.extend(t2);
    // Ground truth is one record per id, the latest.
    let mut latest = monitoring::feedback::FeedbackSet::default();
    latest.extend(all_truth.clone());
    let scratch = report(&e, &all_records, &latest.records, &opts);
    let live = tally.report(&opts);
    assert_eq!(line(&live), line(&scratch));
    assert_eq!(tally.unreadable(), 1);
    assert_eq!(live.variants["A"].requests, 50);
    let shadow = live.shadow.as_ref().unwrap();
    assert_eq!(
        (shadow.compared, shadow.agreed),
        (1, 1),
        "the early shadow answer joined"
    );
    assert_eq!(live.unknown_feedback_ids, 0);

    // One p_value: a strict parse of the JSON refuses duplicate keys.
    let text = line(&live);
    assert_eq!(text.matches("\"p_value\"").count(), 1, "{text}");
    let _: StrictReport = serde_json::from_str(&text).unwrap();
}

/// The report's top level, refusing unknown and duplicate keys.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictReport {
    experiment: serde_json::Value,
    variants: serde_json::Value,
    test: String,
    statistic: f64,
    p_value: f64,
    verdict: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    needed_per_variant: Option<u64>,
    #[serde(default)]
    have_min: Option<u64>,
    #[serde(default)]
    shadow: Option<serde_json::Value>,
    unknown_feedback_ids: u64,
}

/// The committed schema is the one the types generate (`SENTIO_BLESS=1` rewrites it), and
/// a real report validates against it with check-jsonschema (a validator we did not write;
/// installed by scripts/setup.sh).
#[test]
fn the_report_matches_its_committed_json_schema() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/experiment_report.json");
    let generated =
        serde_json::to_string_pretty(&monitoring::experiment::report_schema()).unwrap() + "\n";
    if std::env::var_os("SENTIO_BLESS").is_some() {
        std::fs::write(&committed, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&committed).unwrap_or_default(),
        generated,
        "monitoring/schemas/experiment_report.json is stale: rerun with SENTIO_BLESS=1"
    );
    let mut e = Experiment::new("ab", "ep", vec!["A".into(), "B".into(), "C".into()]).unwrap();
    e.shadow = Some("S".into());
    e.started_at -= chrono::Duration::hours(1);
    let records: Vec<CaptureRecord> = (0..30)
        .map(|i| record(["A", "B", "C"][i % 3], &format!("{i}"), "pos", false, 4))
        .collect();
    let truth: Vec<FeedbackRecord> = (0..30).map(|i| truth(&i.to_string(), "pos")).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut instances = Vec::new();
    for (name, opts) in [
        (
            "winner",
            ReportOptions {
                min_samples: 1,
                ..ReportOptions::default()
            },
        ),
        ("not-enough", ReportOptions::default()),
    ] {
        let r = report(&e, &records, &truth, &opts);
        let p = dir.path().join(format!("{name}.json"));
        std::fs::write(&p, line(&r)).unwrap();
        instances.push(p);
    }
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/check-jsonschema");
    assert!(
        checker.is_file(),
        "{} is missing: run scripts/setup.sh",
        checker.display()
    );
    let out = std::process::Command::new(&checker)
        .arg("--schemafile")
        .arg(&committed)
        .args(&instances)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
