//! Ingestion (CSV, jsonlines, gzip), label mapping, validation checks and bad input.
use std::io::Write;
use train::validate::{validate, ValidationConfig};
use train::{load_table, DataConfig, Dataset, LabelMapping, TrainError};

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const CSV: &str = "id,Title,Review Text,Rating\n\
1,Great,\"Love it, truly\",5\n\
2,,\"Bad \"\"quality\"\"\nsecond line\",1\n\
3,Meh,It is ok,3\n\
4,Nope,,2\n";

#[test]
fn csv_with_quotes_newlines_and_missing_text() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DataConfig::new(write(&dir, "r.csv", CSV.as_bytes()));
    let t = load_table(&cfg).unwrap();
    assert_eq!(t.columns, ["id", "Title", "Review Text", "Rating"]);
    assert_eq!(t.rows.len(), 4);
    assert_eq!(t.lines, vec![2, 3, 5, 6]);
    let (ds, drops) = Dataset::from_table(&t, &cfg).unwrap();
    assert_eq!(
        ds.texts,
        [
            "Great. Love it, truly",
            "Bad \"quality\"\nsecond line",
            "Meh. It is ok"
        ]
    );
    assert_eq!(ds.labels, [2, 0, 1]);
    assert_eq!(drops.missing_text, 1);
    assert_eq!(drops.kept, 3);
    assert_eq!(t.digest.len(), 64);
}

#[test]
fn jsonl_and_gzip_and_identity_labels() {
    let dir = tempfile::tempdir().unwrap();
    let body = "{\"review\": \"good\", \"y\": \"pos\"}\n\n{\"review\": \"bad\", \"y\": \"neg\", \"extra\": 1}\n{\"review\": null, \"y\": \"neg\"}\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    for path in [
        write(&dir, "a.jsonl", body.as_bytes()),
        write(&dir, "a.jsonl.gz", &gz.finish().unwrap()),
    ] {
        let cfg = DataConfig {
            text_columns: vec!["review".into()],
            label_column: "y".into(),
            mapping: LabelMapping::Identity,
            ..DataConfig::new(&path)
        };
        let t = load_table(&cfg).unwrap();
        assert_eq!(t.blank_lines, 1);
        assert_eq!(t.columns, ["review", "y", "extra"]);
        let (ds, drops) = Dataset::from_table(&t, &cfg).unwrap();
        assert_eq!(ds.label_names, ["neg", "pos"]);
        assert_eq!(ds.texts, ["good", "bad"]);
        assert_eq!(ds.labels, [1, 0]);
        assert_eq!(drops.missing_text, 1);
    }
}

#[test]
fn split_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Dataset {
        texts: vec!["a, \"b\"".into(), "c\nd".into()],
        labels: vec![1, 0],
        label_names: vec!["x".into(), "y".into()],
    };
    let p = dir.path().join("s.jsonl");
    ds.write_jsonl(&p).unwrap();
    assert_eq!(Dataset::read_jsonl(&p, &ds.label_names).unwrap(), ds);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = |path: std::path::PathBuf| {
        let cfg = DataConfig::new(path);
        load_table(&cfg)
            .and_then(|t| Dataset::from_table(&t, &cfg))
            .err()
            .unwrap()
    };
    let e = err(write(&dir, "empty.csv", b""));
    assert!(matches!(e, TrainError::EmptyFile { .. }), "{e}");
    let e = err(write(&dir, "header.csv", b"Review Text,Rating\n"));
    assert!(matches!(e, TrainError::NoRows { .. }), "{e}");
    let e = err(write(
        &dir,
        "bytes.csv",
        b"Review Text,Rating\nok,5\n\xff\xfe bad,4\n",
    ));
    assert!(matches!(e, TrainError::NotUtf8 { line: 3, .. }), "{e}");
    let e = err(write(
        &dir,
        "bytes.jsonl",
        b"{\"Review Text\":\"a\",\"Rating\":5}\n{\"Review Text\":\"\xff\"}\n",
    ));
    assert!(matches!(e, TrainError::NotUtf8 { line: 2, .. }), "{e}");
    let e = err(write(&dir, "nocol.csv", b"text,Rating\nok,5\n"));
    assert!(e.to_string().contains("\"Review Text\" not found"), "{e}");
    let e = err(write(
        &dir,
        "labels.csv",
        b"Review Text,Rating\nok,5\nhm,7\nwhat,abc\n",
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("2 value(s)") && msg.contains("\"7\"") && msg.contains("line 3"),
        "{msg}"
    );
    let e = err(write(&dir, "x.txt", b"a"));
    assert!(matches!(e, TrainError::UnknownFormat { .. }), "{e}");
    let e = err(write(
        &dir,
        "ragged.csv",
        b"Review Text,Rating\nok,5,extra\n",
    ));
    assert!(matches!(e, TrainError::Parse { .. }), "{e}");
    let e = err(write(&dir, "notobj.jsonl", b"[1,2]\n"));
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = err(dir.path().join("missing.csv"));
    assert!(matches!(e, TrainError::Io { .. }), "{e}");
}

fn csv_rows(rows: &[(&str, &str)]) -> String {
    let mut s = String::from("Review Text,Rating,Other\n");
    for (t, r) in rows {
        s += &format!("\"{t}\",{r},x\n");
    }
    s
}

fn report(dir: &tempfile::TempDir, body: &str, vc: &ValidationConfig) -> train::ValidationReport {
    let cfg = DataConfig::new(write(dir, "v.csv", body.as_bytes()));
    let t = load_table(&cfg).unwrap();
    let ds = Dataset::from_table(&t, &cfg).ok();
    validate(&t, &cfg, ds.as_ref().map(|(d, c)| (d, c)), vc)
}

fn failed(r: &train::ValidationReport) -> Vec<String> {
    r.failures().iter().map(|c| c.name.clone()).collect()
}

#[test]
fn each_validation_check_fails_on_crafted_data() {
    let dir = tempfile::tempdir().unwrap();
    let vc = ValidationConfig {
        min_rows: 6,
        ..Default::default()
    };
    let good: Vec<(String, &str)> = (0..30)
        .map(|i| (format!("review number {i}"), ["1", "3", "5"][i % 3]))
        .collect();
    let refs: Vec<(&str, &str)> = good.iter().map(|(t, r)| (t.as_str(), *r)).collect();
    let r = report(&dir, &csv_rows(&refs), &vc);
    assert!(r.passed, "{}", r.summary());

    // Schema: the label column holds non-integers (and unknown labels).
    let cfg_body = "Review Text,Rating\nfine,five\nok,4\n";
    let cfg = DataConfig::new(write(&dir, "s.csv", cfg_body.as_bytes()));
    let t = load_table(&cfg).unwrap();
    let r = validate(&t, &cfg, None, &vc);
    assert_eq!(failed(&r), ["schema"]);
    assert!(
        r.summary().contains("1 value(s) are not integers"),
        "{}",
        r.summary()
    );
    // Schema: a missing column.
    let cfg = DataConfig::new(write(&dir, "m.csv", b"Text,Rating\nfine,5\n"));
    let r = validate(&load_table(&cfg).unwrap(), &cfg, None, &vc);
    assert!(failed(&r).contains(&"schema".to_string()));
    assert!(
        r.summary().contains("missing column(s) [\"Review Text\"]"),
        "{}",
        r.summary()
    );

    // Completeness: 4 of 30 texts empty (13%) > 10%.
    let mut rows = refs.clone();
    for row in rows.iter_mut().take(4) {
        row.0 = "";
    }
    let r = report(&dir, &csv_rows(&rows), &vc);
    assert_eq!(failed(&r), ["completeness"]);
    assert!(
        r.summary()
            .contains("\"Review Text\" has 4 of 30 values missing (13.3%)"),
        "{}",
        r.summary()
    );

    // Class balance: one negative review among 30.
    let mut rows = refs.clone();
    for row in rows.iter_mut() {
        if row.1 == "1" {
            row.1 = "5";
        }
    }
    rows[0].1 = "1";
    let strict = ValidationConfig {
        max_imbalance_ratio: 10.0,
        ..vc.clone()
    };
    let r = report(&dir, &csv_rows(&rows), &strict);
    assert_eq!(failed(&r), ["class_balance"]);
    assert!(
        r.summary()
            .contains("class \"negative\" has 1 rows (3.3%); imbalance ratio 19.00"),
        "{}",
        r.summary()
    );

    // Duplicates: 6 repeats of one text.
    let mut rows = refs.clone();
    for row in rows.iter_mut().take(7) {
        row.0 = "same text";
    }
    let r = report(&dir, &csv_rows(&rows), &vc);
    assert_eq!(failed(&r), ["duplicates"]);
    assert!(
        r.summary().contains("6 of 30 texts repeat"),
        "{}",
        r.summary()
    );

    // Too few rows.
    let r = report(&dir, &csv_rows(&refs[..3]), &vc);
    assert!(failed(&r).contains(&"row_count".to_string()));
}
