//! `sentio transform` and `sentio predict` as processes: four `--shard` processes give a
//! single run's output byte for byte; every path (success, error budget exceeded, error,
//! signal) ends with its documented exit status and never by a signal (the model thread
//! is joined before exit); `predict` streams standard input and ends quietly on a closed
//! pipe.
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// A small real (untrained) fastText artifact.
fn model() -> &'static Path {
    static M: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<String> = (0..40).map(review).collect();
        tch::manual_seed(1);
        let tk = models::TextTokenizer::train_wordpiece(texts.iter(), 500, 1).unwrap();
        let config = models::FastTextConfig {
            vocab_size: tk.vocab_size(),
            bigram_buckets: 1000,
            dim: 16,
            dropout: 0.0,
        };
        let labels = vec!["negative".into(), "neutral".into(), "positive".into()];
        let m = models::Model::new(
            models::ModelConfig::FastText(config),
            labels,
            64,
            tk,
            tch::Device::Cpu,
        )
        .unwrap();
        let path = dir.path().join("model");
        let mut w = models::ArtifactWriter::new(&path).unwrap();
        m.save_into(&mut w).unwrap();
        w.finish().unwrap();
        (dir, path)
    })
    .1
}

fn review(i: usize) -> String {
    match i % 3 {
        0 => format!("I love this dress, the fabric is lovely {i}"),
        1 => format!("Terrible fit and the zipper broke after {i} days"),
        _ => format!("It is okay, nothing special about the colour {}", i * 7),
    }
}

fn sentio(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sentio"));
    c.args(args).env("SENTIO_LOG", "warn");
    c
}

fn transform(input: &Path, output: &Path, extra: &[&str]) -> Command {
    let (m, i, o) = (
        model().to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );
    let mut args = vec![
        "transform",
        "--model",
        m,
        "--input",
        i,
        "--output",
        o,
        "--quiet",
    ];
    args.extend_from_slice(&["--max-records-per-batch", "16", "--checkpoint-every", "100"]);
    args.extend_from_slice(extra);
    sentio(&args)
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Records with bad ones among them (their line numbers are in the outputs).
fn jsonl(n: usize) -> String {
    (0..n)
        .map(|i| match i % 97 {
            13 => "{broken\n".to_string(),
            50 => "\n".to_string(),
            _ => json!({"id": i, "price": 1.50, "review_body": review(i)}).to_string() + "\n",
        })
        .collect()
}

fn concat(dir: &Path, stem: &str, ext: &str, count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|k| {
            std::fs::read(dir.join(format!("{stem}.shard-{k}-of-{count}.{ext}"))).unwrap()
        })
        .collect()
}

#[test]
fn four_shards_concatenate_to_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("one")).unwrap();
    std::fs::write(d.join("one/in.jsonl"), jsonl(3000)).unwrap();
    let csv: String = std::iter::once("id,review_text\n".to_string())
        .chain((0..999).map(|i| format!("{i},\"{}, really\"\n", review(i))))
        .collect();
    std::fs::create_dir_all(d.join("csv")).unwrap();
    std::fs::write(d.join("csv/in.csv"), csv).unwrap();
    std::fs::create_dir_all(d.join("many")).unwrap();
    for f in 0..6 {
        std::fs::write(d.join(format!("many/f{f}.jsonl")), jsonl(100 + f)).unwrap();
    }
    let cases: [(&str, &[&str]); 3] = [
        (
            "one",
            &["--input-filter", "$.review_body", "--join-source", "Input"],
        ),
        (
            "csv",
            &[
                "--input-filter",
                "$.review_text",
                "--join-source",
                "Input",
                "--csv-header",
            ],
        ),
        ("many", &["--input-filter", "$.review_body"]),
    ];
    for (name, extra) in cases {
        let input = d.join(name);
        ok(&transform(&input, &d.join(format!("{name}-single")), extra)
            .output()
            .unwrap());
        let sharded = d.join(format!("{name}-sharded"));
        let shards: Vec<Child> = (0..4)
            .map(|k| {
                let shard = format!("{k}/4");
                let mut args = extra.to_vec();
                args.extend_from_slice(&["--shard", &shard]);
                transform(&input, &sharded, &args)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for s in shards {
            ok(&s.wait_with_output().unwrap());
        }
        let single = d.join(format!("{name}-single"));
        let files: Vec<&str> = match name {
            "one" => vec!["in.jsonl"],
            "csv" => vec!["in.csv"],
            _ => vec![],
        };
        for f in &files {
            for ext in ["out", "err"] {
                let whole = std::fs::read(single.join(format!("{f}.{ext}"))).unwrap();
                assert!(!whole.is_empty() || ext == "err");
                assert!(
                    concat(&sharded, f, ext, 4) == whole,
                    "{name}: {f}.{ext} differs"
                );
            }
        }
        if name == "many" {
            // Whole files, named as unsharded: the folders hold the same outputs.
            for f in 0..6 {
                for ext in ["out", "err"] {
                    let n = format!("f{f}.jsonl.{ext}");
                    assert!(
                        std::fs::read(sharded.join(&n)).unwrap()
                            == std::fs::read(single.join(&n)).unwrap(),
                        "{n}"
                    );
                }
            }
        }
        for k in 0..4 {
            let s: Value = serde_json::from_slice(
                &std::fs::read(sharded.join(format!("transform-summary.shard-{k}-of-4.json")))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(s["status"], "Completed");
            assert_eq!(s["shard"], format!("{k}/4"));
        }
    }
    let o = transform(&d.join("one"), &d.join("x"), &["--shard", "4/4"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "a shard past the count is a usage error"
    );
}

#[test]
fn every_path_exits_with_its_documented_status_never_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bad = String::new();
    for i in 0..4000 {
        bad.push_str(if i % 50 == 7 { "{broken\n" } else { "" });
        bad.push_str(&(json!({"review_body": review(i)}).to_string() + "\n"));
    }
    std::fs::write(d.join("bad.jsonl"), bad).unwrap();
    std::fs::write(d.join("good.jsonl"), jsonl(500)).unwrap();
    let filter = ["--input-filter", "$.review_body"];
    for run in 0..3 {
        let out = d.join(format!("budget{run}"));
        let o = transform(
            &d.join("bad.jsonl"),
            &out,
            &[&filter[..], &["--max-failed-records", "3"]].concat(),
        )
        .output()
        .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "over budget: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(s["status"], "Failed");
        assert!(s["failure_reason"]
            .as_str()
            .unwrap()
            .contains("error budget"));

        let o = transform(&d.join("absent.jsonl"), &d.join("e"), &filter)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "error");
        assert!(String::from_utf8_lossy(&o.stderr).contains("absent.jsonl"));

        let o = transform(&d.join("good.jsonl"), &d.join(format!("ok{run}")), &filter)
            .output()
            .unwrap();
        ok(&o);
    }
}

/// Kills `child` if the test has not finished with it in 5 minutes (a hang guard, not a
/// timing assertion).
fn guard(child: &Child) -> impl Drop {
    struct Guard(std::sync::mpsc::Sender<()>);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let pid = child.id();
    std::thread::spawn(move || {
        if rx
            .recv_timeout(std::time::Duration::from_secs(300))
            .is_err()
        {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    Guard(tx)
}

fn predict() -> Child {
    sentio(&[
        "predict",
        "--model",
        model().to_str().unwrap(),
        "--device",
        "cpu",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

#[test]
fn predict_streams_stdin_and_stops_cleanly() {
    for _ in 0..3 {
        // Lines are answered while standard input stays open; SIGTERM then ends it with 143.
        let mut child = predict();
        let _g = guard(&child);
        let mut stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for i in 0..3 {
            writeln!(stdin, "{}", review(i)).unwrap();
        }
        stdin.flush().unwrap();
        for i in 0..3 {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["text"], review(i));
            assert!(v["model_version"].as_str().unwrap().starts_with("sha256-"));
        }
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(143), "{status:?}");
        drop(stdin);
    }

    // All of standard input, in order; a blank line gets its error line and exit 1.
    let mut child = predict();
    let _g = guard(&child);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..2000 {
            writeln!(
                stdin,
                "{}",
                if i == 1500 { String::new() } else { review(i) }
            )
            .unwrap();
        }
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 of 2000 texts"));
    let lines: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 2000);
    assert_eq!(lines[1500]["type"], "blank_record");
    assert_eq!(lines[1500]["line"], 1501);
    assert_eq!(lines[1999]["text"], review(1999));

    // A reader that goes away (`| head -1`) ends it quietly, with success.
    let mut child = predict();
    let _g = guard(&child);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..100_000 {
            if writeln!(stdin, "{}", review(i)).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"label\""));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
}
