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
        "no such artifact",
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
