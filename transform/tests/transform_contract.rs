//! Batch transform as SageMaker users expect it: joins write the input record back as it
//! was (key order, number text, CSV quoting), nothing hidden is left after success, a file
//! whose every record failed fails the job, CSV header rows; and server jobs confined to
//! their roots by directory handles (links out refused for reading, never written through).
#[allow(dead_code)]
#[path = "../../serve/tests/endpoint/common.rs"]
mod common;
#[path = "support/http_job.rs"]
mod http_job;

use common::{admin, models, TestServer};
use hyper::Method;
use serde_json::{json, Value};
use serve::{BatchConfig, Batcher, TokenizerPool};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use transform::{
    run_transform, Counters, JobStatus, JoinSource, RunOptions, Summary, TransformSpec,
};

async fn run(spec: TransformSpec) -> Summary {
    let config = BatchConfig {
        max_batch_size: 16,
        ..BatchConfig::default()
    };
    let pool = TokenizerPool::new(1, 16);
    let batcher = Batcher::load(&models().a, tch::Device::Cpu, "t", config, pool)
        .await
        .unwrap();
    let counters = Arc::new(Counters::default());
    run_transform(batcher, spec, counters, RunOptions::default())
        .await
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_keep_records_as_written_and_no_state_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        r#"{"zeta": 1.50, "alpha": {"b": 2, "a": 1e2}, "review_body": "I love this dress"}"#,
        r#"{"review_body":"Terrible fit","price":10.0,"ids":[3,2,1],"big":12345678901234567890123}"#,
        r#"  {"b":-0.0, "review_body" : "It is okay", "SageMakerOutput": "old"}"#,
    ];
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, records.join("\n") + "\n").unwrap();
    let mut s = TransformSpec::new(&input, dir.path().join("out"));
    s.data_processing.input_filter = "$.review_body".into();
    s.data_processing.join_source = JoinSource::Input;
    let summary = run(s).await;
    assert_eq!(summary.status, JobStatus::Completed, "{summary:?}");
    let out = read(&dir.path().join("out/in.jsonl.out"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    for (raw, line) in records.iter().zip(&lines).take(2) {
        let kept = format!("{},\"SageMakerOutput\":{{\"label\":", &raw[..raw.len() - 1]);
        assert!(line.starts_with(&kept), "{line}");
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["SageMakerOutput"]["probabilities"].is_object());
    }
    // An output key the record already has is replaced where it stands.
    assert!(
        lines[2].starts_with(r#"{"b":-0.0,"review_body":"It is okay","SageMakerOutput":{"label":"#),
        "{}",
        lines[2]
    );

    // CSV: the line as written, byte for byte, then the prediction.
    let rows = "1,\"the zipper broke\",3.10\n2,  \"spaced\" ,x\n\"3\",\"a \"\"quoted\"\" word\",\n";
    let input = dir.path().join("rows.csv");
    std::fs::write(&input, rows).unwrap();
    let mut s = TransformSpec::new(&input, dir.path().join("out"));
    s.data_processing.input_filter = "$[1]".into();
    s.data_processing.join_source = JoinSource::Input;
    assert_eq!(run(s).await.status, JobStatus::Completed);
    let out = read(&dir.path().join("out/rows.csv.out"));
    for (row, line) in rows.lines().zip(out.lines()) {
        assert!(line.starts_with(&format!("{row},")), "{line}");
    }

    // Nothing but the outputs and the summary is left.
    assert_eq!(
        names(&dir.path().join("out")),
        [
            "in.jsonl.err",
            "in.jsonl.out",
            "rows.csv.err",
            "rows.csv.out",
            "transform-summary.json"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_whose_every_record_failed_fails_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let good: String = (0..5)
        .map(|i| json!({"review_body": format!("lovely dress {i}")}).to_string() + "\n")
        .collect();
    std::fs::write(input.join("a.jsonl"), good).unwrap();
    let bad: String = (0..591)
        .map(|i| json!({"title": format!("no body {i}")}).to_string() + "\n")
        .collect();
    std::fs::write(input.join("b.jsonl"), bad).unwrap();
    let mut s = TransformSpec::new(&input, dir.path().join("out"));
    s.data_processing.input_filter = "$.review_body".into();
    let summary = run(s).await;
    assert_eq!(summary.status, JobStatus::Failed);
    let reason = summary.failure_reason.unwrap();
    assert!(
        reason.contains("every record of") && reason.contains("591 records"),
        "{reason}"
    );
    assert!(
        reason.contains("$.review_body"),
        "the first error is quoted: {reason}"
    );
    assert!(!dir.path().join("out/b.jsonl.out").exists());
    let file: Value =
        serde_json::from_str(&read(&dir.path().join("out/transform-summary.json"))).unwrap();
    assert_eq!(file["status"], "Failed");
    // A failed file stops the job (fail fast), so the good file either finished before
    // that — its output in place and listed as finished — or was stopped: no output under
    // its name and not listed, so a rerun does it. Which one depends on scheduling.
    let finished = dir.path().join("out/a.jsonl.out").exists();
    let listed = file["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["input"].as_str().is_some_and(|i| i.ends_with("a.jsonl")));
    assert_eq!(finished, listed, "{file:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_header_rows_are_names_not_reviews() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "id,review_text,rating\n1,\"Lovely, soft fabric\",5\n2,The zipper broke,1\n3,It is okay,3\n";
    let input = dir.path().join("a.csv");
    std::fs::write(&input, csv).unwrap();
    let header = |how: &str, join: JoinSource, accept: Option<&str>| {
        let mut s = TransformSpec::new(&input, dir.path().join(format!("{how}{join}{accept:?}")));
        s.data_processing.input_filter = "$.review_text".into();
        s.data_processing.join_source = join;
        s.accept = accept.map(str::to_string);
        match how {
            "flag" => s.csv_header = true,
            _ => s.content_type = Some("text/csv;header=present".into()),
        }
        s
    };
    for how in ["flag", "mime"] {
        let s = header(how, JoinSource::Input, None);
        let out_file = s.output.join("a.csv.out");
        let summary = run(s).await;
        assert_eq!(summary.status, JobStatus::Completed, "{summary:?}");
        assert_eq!((summary.counts.records, summary.counts.failed), (3, 0));
        let out = read(&out_file);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "id,review_text,rating,label,probability_negative,probability_neutral,probability_positive"
        );
        for (row, line) in csv.lines().zip(&lines).skip(1) {
            assert!(line.starts_with(&format!("{row},")), "{line}");
        }
    }
    // Column numbers still work; JSON output has no header row.
    let mut s = header("flag", JoinSource::None, Some("application/jsonlines"));
    s.data_processing.input_filter = "$[1]".into();
    let out_file = s.output.join("a.csv.out");
    assert_eq!(run(s).await.counts.records, 3);
    let out = read(&out_file);
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().all(|l| l.starts_with("{\"label\"")), "{out}");
    // Without the header flag the header is a record like any other.
    let mut s = TransformSpec::new(&input, dir.path().join("plain"));
    s.data_processing.input_filter = "$[1]".into();
    assert_eq!(run(s).await.counts.records, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_jobs_never_follow_links_out_of_their_root() {
    let dir = tempfile::tempdir().unwrap();
    let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
    for d in [
        root.join("in"),
        root.join("evil"),
        root.join("out"),
        outside.clone(),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let rows: String = (0..30)
        .map(|i| json!({"review_body": format!("lovely dress {i}")}).to_string() + "\n")
        .collect();
    std::fs::write(root.join("in/a.jsonl"), &rows).unwrap();
    std::fs::write(root.join("evil/a.jsonl"), &rows).unwrap();
    std::fs::write(outside.join("secret.jsonl"), &rows).unwrap();
    std::fs::write(outside.join("victim"), "precious").unwrap();
    symlink(outside.join("secret.jsonl"), root.join("evil/evil.jsonl")).unwrap();
    // Links planted where the job writes: partial files, the output, the summary.
    for name in [
        ".a.jsonl.out.partial",
        ".a.jsonl.err.partial",
        "a.jsonl.out",
        "transform-summary.json",
    ] {
        symlink(outside.join("victim"), root.join("out").join(name)).unwrap();
    }
    let mut config = common::config(vec![common::local("AllTraffic", &models().a, 1.0)]);
    config.transform_jobs = Some(std::sync::Arc::new(transform::Jobs::new(
        vec![root.clone()],
    )));
    let server = TestServer::start(config).await;
    let body = |input: &str, output: &str| json!({"Input": input, "Output": output, "DataProcessing": {"InputFilter": "$.review_body", "JoinSource": "Input"}});
    for input in ["evil", "evil/evil.jsonl"] {
        let r = admin(
            server.addr,
            Method::POST,
            "/transform-jobs",
            body(input, "o"),
        )
        .await;
        assert_eq!(r.status, 403, "{input}: {}", r.text());
        assert_eq!(r.error_type(), "path_not_allowed");
    }
    let done = http_job::run_to_end(server.addr, body("in", "out")).await;
    assert_eq!(done["TransformJobStatus"], "Completed", "{done}");
    assert_eq!(read(&outside.join("victim")), "precious");
    for name in ["a.jsonl.out", "transform-summary.json"] {
        let m = std::fs::symlink_metadata(root.join("out").join(name)).unwrap();
        assert!(m.is_file(), "{name} is a file of its own now");
    }
    assert_eq!(read(&root.join("out/a.jsonl.out")).lines().count(), 30);
    server.stop().await.unwrap();
}
