//! The `sentio` binary: bad input gives a clear message and a non-zero exit (never a
//! panic), and train → predict → evaluate works from the command line.
use std::path::Path;
use std::process::{Command, Output};

fn sentio(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentio"))
        .args(args)
        .env("SENTIO_HOME", home)
        .env("SENTIO_LOG", "warn")
        .output()
        .expect("run sentio")
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_data_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let out = d.join("model").display().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            write("nocol.csv", b"text,Rating\nfine,5\n"),
            "missing column(s) [\"Review Text\"]",
        ),
        (write("empty.csv", b""), "is empty"),
        (
            write("bytes.csv", b"Review Text,Rating\nok,5\n\xff bad,4\n"),
            "line 3: the bytes are not valid UTF-8",
        ),
        (
            write("labels.csv", b"Review Text,Rating\nok,5\nhm,9\n"),
            "not valid labels: \"9\"",
        ),
        (d.join("absent.csv").display().to_string(), "absent.csv"),
    ];
    for (data, needle) in cases {
        fails_with(
            &sentio(&["train", "--data", &data, "--out", &out], d),
            needle,
        );
        fails_with(&sentio(&["validate", "--data", &data], d), needle);
    }
    assert!(!d.join("model").exists());
    fails_with(
        &sentio(&["predict", "--model", &out, "hello"], d),
        "not found (no artifact directory there)",
    );
    fails_with(
        &sentio(
            &[
                "train",
                "--data",
                &write("ok.csv", b"Review Text,Rating\na,5\n"),
                "--out",
                &out,
                "--architecture",
                "bert",
            ],
            d,
        ),
        "--checkpoint",
    );
    // clap's own usage errors exit with 2.
    let o = sentio(&["train", "--epochs", "many"], d);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn identical_weights_are_one_version_and_out_is_not_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("reviews.csv");
    train::demo::write_csv(&data, 300, 5).unwrap();
    let data_s = data.display().to_string();
    let train = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "train", "--data", &data_s, "--out", out, "--epochs", "2", "--dim", "8", "--device",
            "cpu",
        ];
        args.extend_from_slice(extra);
        sentio(&args, d)
    };
    let version = |o: &Output| {
        let stdout = String::from_utf8_lossy(&o.stdout);
        let v = stdout
            .split("model ")
            .nth(1)
            .and_then(|r| r.split(' ').next());
        v.unwrap_or_else(|| panic!("no version in {stdout}"))
            .to_string()
    };
    let (a, b) = (
        d.join("a").display().to_string(),
        d.join("b").display().to_string(),
    );
    let first = train(&a, &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Trained again (other timestamps in metadata.json): the same weights, the same version.
    let second = train(&b, &[]);
    assert!(second.status.success());
    assert_eq!(version(&first), version(&second));
    assert_ne!(
        std::fs::read(d.join("a/metadata.json")).unwrap(),
        std::fs::read(d.join("b/metadata.json")).unwrap(),
        "the metadata differs, the version does not"
    );
    // An existing artifact is not replaced without --force.
    fails_with(&train(&a, &[]), "exists; pass --force");
    let forced = train(&a, &["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(version(&forced), version(&first));
}

#[test]
fn train_predict_evaluate_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("reviews.csv");
    train::demo::write_csv(&data, 600, 11).unwrap();
    let model = d.join("model");
    let (data_s, model_s) = (data.display().to_string(), model.display().to_string());
    let o = sentio(
        &[
            "train", "--data", &data_s, "--out", &model_s, "--epochs", "5", "--lr", "0.01",
            "--dim", "16", "--device", "cpu",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("macro-F1") && stdout.contains("saved to"),
        "{stdout}"
    );

    let o = sentio(
        &[
            "predict",
            "--model",
            &model_s,
            "--device",
            "cpu",
            "I love this dress, it fits perfectly and the fabric is so soft",
            "Terrible quality for this price, the seams came apart after one wash",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["label"], "positive");
    assert_eq!(lines[1]["label"], "negative");
    assert!(lines[0]["model_version"]
        .as_str()
        .unwrap()
        .starts_with("sha256-"));

    let eval = d.join("eval.json");
    let o = sentio(
        &[
            "evaluate",
            "--model",
            &model_s,
            "--data",
            &data_s,
            "--out",
            &eval.display().to_string(),
            "--device",
            "cpu",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: serde_json::Value = serde_json::from_slice(&std::fs::read(&eval).unwrap()).unwrap();
    assert!(e["metrics"]["balanced_accuracy"]["value"].as_f64().unwrap() > 0.7);
    // The page beside it, naming the model and the data, with the training curves.
    let page = std::fs::read_to_string(d.join("eval.html")).unwrap();
    assert!(page.contains(&data_s) && page.contains("id=\"loss-curve\""));

    // Corrupt the artifact: loading is refused.
    let w = model.join("model.safetensors");
    let mut b = std::fs::read(&w).unwrap();
    let n = b.len() / 2;
    b[n] ^= 1;
    std::fs::write(&w, b).unwrap();
    fails_with(
        &sentio(&["predict", "--model", &model_s, "x"], d),
        "corrupt",
    );
}

/// Writes `labels` as captured JSON requests and responses under `dir` (one variant).
fn write_capture(dir: &Path, labels: &[&str]) {
    let d = dir.join("A/2026/01/01/00");
    std::fs::create_dir_all(&d).unwrap();
    let mut lines = String::new();
    for (i, label) in labels.iter().enumerate() {
        let input = serde_json::json!({ "text": format!("review {i}") }).to_string();
        let output = serde_json::json!({ "label": label }).to_string();
        let id = format!("id-{i}");
        let e =
            monitoring::capture::Exchange::json("A", "v", &id, input.as_bytes(), output.as_bytes());
        let r = monitoring::capture::CaptureRecord::new(&e, &Default::default());
        lines.push_str(&serde_json::to_string(&r).unwrap());
        lines.push('\n');
    }
    std::fs::write(d.join("part.jsonl"), lines).unwrap();
}

#[test]
fn monitor_run_exits_3_on_violations_only_with_fail_on_violation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A baseline of predicted labels only (no tokenizer next to it: no text features).
    let baseline = d.join("model/baseline");
    std::fs::create_dir_all(&baseline).unwrap();
    let buckets: Vec<serde_json::Value> = ["negative", "neutral", "positive"]
        .iter()
        .map(|v| serde_json::json!({ "value": v, "count": 100 }))
        .collect();
    let stats = serde_json::json!({
        "dataset": { "item_count": 300 },
        "features": [{
            "name": "predicted_label",
            "inferred_type": "String",
            "string_statistics": { "distribution": { "categorical": { "buckets": buckets } } }
        }]
    });
    std::fs::write(baseline.join("statistics.json"), stats.to_string()).unwrap();
    let same: Vec<&str> = ["negative", "neutral", "positive"].repeat(100);
    let shifted = vec!["negative"; 300];
    write_capture(&d.join("same"), &same);
    write_capture(&d.join("shifted"), &shifted);
    let run = |capture: &str, flag: bool| {
        let (cap, base, out) = (
            d.join(capture).display().to_string(),
            baseline.display().to_string(),
            d.join(format!("out-{capture}")).display().to_string(),
        );
        let mut args = vec![
            "monitor",
            "run",
            "--capture",
            &cap,
            "--baseline",
            &base,
            "--out",
            &out,
        ];
        if flag {
            args.push("--fail-on-violation");
        }
        let o = sentio(&args, d);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        (o.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = run("shifted", true);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("violation: baseline_drift_check predicted_label"),
        "{stdout}"
    );
    assert!(
        stderr.contains("violation(s) and --fail-on-violation: exit status 3"),
        "{stderr}"
    );
    assert!(d.join("out-shifted/constraint_violations.json").is_file());
    let (code, stdout, stderr) = run("shifted", false);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 violation(s)"), "{stdout}");
    let (code, stdout, stderr) = run("same", true);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 violation(s)"), "{stdout}");
    // An error is still exit status 1.
    let cap = d.join("shifted").display().to_string();
    fails_with(
        &sentio(
            &[
                "monitor",
                "run",
                "--capture",
                &cap,
                "--baseline",
                &d.join("nowhere").display().to_string(),
                "--fail-on-violation",
            ],
            d,
        ),
        "not found: give a folder with statistics.json",
    );
}

#[test]
fn pipeline_registry_and_lineage_take_home_anywhere_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("elsewhere");
    let h = home.display().to_string();
    for args in [
        vec!["registry", "--home", &h, "list", "--json"],
        vec!["registry", "list", "--json", "--home", &h],
        vec!["pipeline", "--home", &h, "list", "--json"],
        vec!["pipeline", "list", "--home", &h, "--json"],
    ] {
        let o = sentio(&args, d);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v, serde_json::json!([]), "{args:?}");
    }
    // --home wins over SENTIO_HOME (here `d`, which was never used).
    assert!(home.join("sentio.db").is_file());
    assert!(!d.join("sentio.db").exists());
    fails_with(
        &sentio(&["lineage", "sentiment/1", "--json", "--home", &h], d),
        "model version \"sentiment/1\" not found",
    );
    fails_with(
        &sentio(&["pipeline", "describe", "--json", "--home", &h], d),
        "no executions yet",
    );
    fails_with(
        &sentio(&["registry", "describe", "sentiment/1", "--json"], d),
        "not found",
    );
    // Every option says what it does and its default.
    let o = sentio(&["pipeline", "run", "--help"], d);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("[default: 30d]"), "{help}");
    assert!(help.contains("[default: the built-in pipeline]"), "{help}");
}
