//! Batch transform end to end on a real (small, untrained) fastText model: every knob,
//! joins and filters, order, bad records and the error budget, resumption after a stop
//! without finalising, gzip input, and the HTTP job API with its path confinement.
#[allow(dead_code)]
#[path = "../../serve/tests/endpoint/common.rs"]
mod common;
#[path = "support/http_job.rs"]
mod http_job;

use common::{admin, models, send, TestServer, TOKEN};
use hyper::Method;
use serde_json::{json, Value};
use serve::{BatchConfig, Batcher, TokenizerPool};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use transform::{
    run_transform, AssembleWith, BatchStrategy, Counters, JobStatus, JoinSource, RunOptions,
    SplitType, Summary, TransformSpec,
};

async fn batcher() -> Batcher {
    let config = BatchConfig {
        max_batch_size: 16,
        ..BatchConfig::default()
    };
    Batcher::load(
        &models().a,
        tch::Device::Cpu,
        "t",
        config,
        TokenizerPool::new(1, 16),
    )
    .await
    .unwrap()
}

async fn run(spec: TransformSpec) -> Summary {
    run_transform(
        batcher().await,
        spec,
        Arc::new(Counters::default()),
        RunOptions::default(),
    )
    .await
    .unwrap()
}

fn review(i: usize) -> String {
    match i % 3 {
        0 => format!("I love this dress, the fabric is lovely {i}"),
        1 => format!("Terrible fit and the zipper broke after {i} days"),
        _ => format!("It is okay, nothing special about the colour {i}"),
    }
}

fn jsonl(n: usize) -> String {
    (0..n)
        .map(|i| json!({"id": i, "review_body": review(i)}).to_string() + "\n")
        .collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn spec(input: &Path, out: &Path) -> TransformSpec {
    let mut s = TransformSpec::new(input, out);
    s.data_processing.input_filter = "$.review_body".into();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_filters_order_and_batch_strategies() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", jsonl(300).as_bytes());
    let mut s = spec(&input, &dir.path().join("multi"));
    s.data_processing.join_source = JoinSource::Input;
    s.max_records_per_batch = 32;
    let summary = run(s.clone()).await;
    assert_eq!(summary.status, JobStatus::Completed);
    assert_eq!((summary.counts.records, summary.counts.failed), (300, 0));
    let out = lines(&dir.path().join("multi/in.jsonl.out"));
    assert_eq!(out.len(), 300);
    for (i, v) in out.iter().enumerate() {
        assert_eq!(v["id"], i, "order preserved");
        assert!(v["SageMakerOutput"]["label"].is_string());
    }
    let summary_file: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("multi/transform-summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary_file["records"], 300);

    // SingleRecord gives the same predictions as MultiRecord (up to float rounding: a
    // batch of one takes another kernel).
    s.batch_strategy = BatchStrategy::SingleRecord;
    s.output = dir.path().join("single");
    run(s.clone()).await;
    let single = lines(&dir.path().join("single/in.jsonl.out"));
    assert_eq!(single.len(), 300);
    for (a, b) in single.iter().zip(&out) {
        assert_eq!(a["id"], b["id"]);
        for (l, p) in a["SageMakerOutput"]["probabilities"].as_object().unwrap() {
            let q = b["SageMakerOutput"]["probabilities"][l].as_f64().unwrap();
            assert!((p.as_f64().unwrap() - q).abs() < 1e-5);
        }
    }

    // OutputFilter picks the id and the label.
    s.batch_strategy = BatchStrategy::MultiRecord;
    s.data_processing.output_filter = "$['id','SageMakerOutput']".into();
    s.output = dir.path().join("filtered");
    run(s.clone()).await;
    let f = lines(&dir.path().join("filtered/in.jsonl.out"));
    assert_eq!(f[7][0], 7);
    assert_eq!(f[7][1], out[7]["SageMakerOutput"]);

    // Non-object records are wrapped; AssembleWith None concatenates.
    let strings: String = (0..5)
        .map(|i| json!(review(i)).to_string() + "\n")
        .collect();
    let input = write(dir.path(), "strings.jsonl", strings.as_bytes());
    let mut s = TransformSpec::new(&input, dir.path().join("wrapped"));
    s.data_processing.join_source = JoinSource::Input;
    s.data_processing.output_filter = "$.SageMakerInput".into();
    s.assemble_with = AssembleWith::None;
    run(s).await;
    let wrapped = std::fs::read_to_string(dir.path().join("wrapped/strings.jsonl.out")).unwrap();
    let expect: String = (0..5).map(|i| json!(review(i)).to_string()).collect();
    assert_eq!(wrapped, expect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_gzip_split_none_accept_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    let csv: String = (0..20)
        .map(|i| format!("{i},\"{}, really\"\n", review(i)))
        .collect();
    write(&inputs, "a.csv", csv.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(jsonl(50).as_bytes()).unwrap();
    // One record has a `$[1]` (a file whose every record failed would fail the job).
    gz.write_all(b"[0, \"lovely\"]\n").unwrap();
    write(&inputs, "b.jsonl.gz", &gz.finish().unwrap());
    write(&inputs, "ignored.bin", b"x");

    // CSV: join appends the prediction to the row; gzip read through; two files at once.
    let mut s = TransformSpec::new(&inputs, dir.path().join("out"));
    s.data_processing.input_filter = "$[1]".into();
    s.data_processing.join_source = JoinSource::Input;
    s.max_concurrent_transforms = 2;
    let summary = run(s).await;
    assert_eq!(summary.status, JobStatus::Completed, "{summary:?}");
    assert_eq!(summary.files.len(), 2);
    let rows = std::fs::read_to_string(dir.path().join("out/a.csv.out")).unwrap();
    let first = rows.lines().next().unwrap();
    assert!(
        first.starts_with("0,\"I love this dress, the fabric is lovely 0, really\","),
        "{first}"
    );
    assert_eq!(first.split(',').count(), 1 + 3 + 1 + 3, "{first}");
    // The jsonl file's objects have no `$[1]`: they fail the filter, none is lost.
    let b = lines(&dir.path().join("out/b.jsonl.gz.out"));
    assert_eq!(b.len(), 51);
    assert_eq!(b[0]["type"], "filter_no_match");

    // Accept text/csv on JSON input, plain prediction rows.
    let input = write(dir.path(), "c.jsonl", jsonl(4).as_bytes());
    let mut s = spec(&input, &dir.path().join("csvout"));
    s.accept = Some("text/csv".into());
    run(s).await;
    let c = std::fs::read_to_string(dir.path().join("csvout/c.jsonl.out")).unwrap();
    assert_eq!(c.lines().count(), 4);
    assert_eq!(c.lines().next().unwrap().split(',').count(), 4, "{c}");

    // SplitType None: the whole file is one record.
    let input = write(
        dir.path(),
        "whole.txt",
        b"I love it.\nThe fabric is lovely.\n",
    );
    let mut s = TransformSpec::new(&input, dir.path().join("whole"));
    s.split_type = SplitType::None;
    let summary = run(s).await;
    assert_eq!(summary.counts.records, 1);
    assert_eq!(lines(&dir.path().join("whole/whole.txt.out")).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_isolated_reported_and_budgeted() {
    let dir = tempfile::tempdir().unwrap();
    let long = vec!["lovely"; 500].join(" ");
    let mut data = Vec::new();
    data.extend_from_slice(json!({"review_body": review(0)}).to_string().as_bytes());
    data.extend_from_slice(b"\n\n"); // line 2: blank
    data.extend_from_slice(b"{\"review_body\": \"bad \xff byte\"}\n"); // 3: invalid UTF-8
    data.extend_from_slice(b"{not json\n"); // 4
    data.extend_from_slice(b"{\"title\": \"no body\"}\n"); // 5: filter path missing
    data.extend_from_slice(json!({"review_body": long}).to_string().as_bytes()); // 6: truncated
    data.extend_from_slice(b"\n");
    data.extend_from_slice(json!({"review_body": review(1)}).to_string().as_bytes()); // 7
    data.extend_from_slice(b"\n");
    let input = write(dir.path(), "bad.jsonl", &data);
    let summary = run(spec(&input, &dir.path().join("out"))).await;
    assert_eq!(summary.status, JobStatus::Completed);
    assert_eq!(
        (
            summary.counts.records,
            summary.counts.failed,
            summary.counts.truncated
        ),
        (7, 4, 1)
    );
    let out = lines(&dir.path().join("out/bad.jsonl.out"));
    assert_eq!(
        out.len(),
        7,
        "line N of the output answers line N of the input"
    );
    let kinds: Vec<&str> = out
        .iter()
        .map(|v| v["type"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        kinds,
        [
            "ok",
            "blank_record",
            "invalid_utf8",
            "invalid_json",
            "filter_no_match",
            "ok",
            "ok"
        ]
    );
    assert_eq!(out[5]["truncated"], true);
    let err = lines(&dir.path().join("out/bad.jsonl.err"));
    let err_lines: Vec<u64> = err.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(err_lines, [2, 3, 4, 5]);
    assert!(err[3]["error"].as_str().unwrap().contains("$.review_body"));

    // Budgets: by count and by percent.
    let mut s = spec(&input, &dir.path().join("budget"));
    s.max_failed_records = Some(3);
    let failed = run(s).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.failure_reason.unwrap().contains("error budget"));
    assert!(
        !dir.path().join("budget/bad.jsonl.out").exists(),
        "no partial output appears"
    );
    let mut s = spec(&input, &dir.path().join("pct"));
    s.max_failed_percent = Some(50.0);
    assert_eq!(run(s.clone()).await.status, JobStatus::Failed);
    s.max_failed_percent = Some(60.0);
    s.output = dir.path().join("pct60");
    assert_eq!(run(s).await.status, JobStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_resumes_to_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = jsonl(1000).into_bytes();
    data.extend_from_slice(b"{broken\n");
    data.extend_from_slice(jsonl(200).as_bytes());
    for gz in [false, true] {
        let name = if gz { "r.jsonl.gz" } else { "r.jsonl" };
        let bytes = if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        } else {
            data.clone()
        };
        let input = write(dir.path(), name, &bytes);
        let mut s = spec(&input, &dir.path().join("whole"));
        s.checkpoint_every = 50;
        s.max_records_per_batch = 16;
        run(s.clone()).await;
        let expected = std::fs::read(dir.path().join(format!("whole/{name}.out"))).unwrap();

        s.output = dir.path().join("resumed");
        for stop in [333, 1001] {
            let mut stopped = s.clone();
            stopped.stop_after_records = Some(stop);
            let r = run(stopped).await;
            assert_eq!(r.status, JobStatus::Failed);
            assert!(!dir.path().join(format!("resumed/{name}.out")).exists());
        }
        let r = run(s.clone()).await;
        assert_eq!(r.status, JobStatus::Completed);
        assert!(r.files[0].resumed_records >= 950, "{:?}", r.files[0]);
        assert_eq!((r.counts.records, r.counts.failed), (1201, 1));
        let got = std::fs::read(dir.path().join(format!("resumed/{name}.out"))).unwrap();
        assert!(got == expected, "resumed output differs ({name})");
        let err = lines(&dir.path().join(format!("resumed/{name}.err")));
        assert_eq!(err.len(), 1, "no duplicated error lines");
        assert_eq!(err[0]["line"], 1001);
        // A finished file is not redone.
        let again = run(s).await;
        assert_eq!(again.files[0].resumed_records, 1201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_jobs_are_token_protected_and_confined() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    write(&root, "in.jsonl", jsonl(40).as_bytes());
    write(&outside, "secret.jsonl", jsonl(2).as_bytes());
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let mut config = common::config(vec![common::local("AllTraffic", &models().a, 1.0)]);
    config.transform_jobs = Some(std::sync::Arc::new(transform::Jobs::new(
        vec![root.clone()],
    )));
    let server = TestServer::start(config).await;
    let body = |input: &str, output: &str| {
        json!({"Input": input, "Output": output, "BatchStrategy": "MultiRecord",
               "DataProcessing": {"InputFilter": "$.review_body", "JoinSource": "Input"}})
    };

    let anon = send(
        server.addr,
        Method::POST,
        "/transform-jobs",
        &[],
        body("in.jsonl", "out").to_string(),
    )
    .await;
    assert_eq!(anon.status, 401);
    let wrong = send(
        server.addr,
        Method::GET,
        "/transform-jobs/x",
        &[("authorization", "Bearer nope")],
        "",
    )
    .await;
    assert_eq!(wrong.status, 403);
    for (input, output) in [
        ("../outside/secret.jsonl", "out"),
        (outside.join("secret.jsonl").to_str().unwrap(), "out"),
        ("link/secret.jsonl", "out"),
        ("in.jsonl", "link/out"),
    ] {
        let r = admin(
            server.addr,
            Method::POST,
            "/transform-jobs",
            body(input, output),
        )
        .await;
        assert_eq!(r.status, 403, "{input} -> {output}: {}", r.text());
        assert_eq!(r.error_type(), "path_not_allowed");
    }
    let bad = admin(
        server.addr,
        Method::POST,
        "/transform-jobs",
        json!({"Input": "in.jsonl", "Output": "o", "MaxPayloadInMB": 101}),
    )
    .await;
    assert_eq!(bad.status, 422);
    // A misspelt knob or a Variant that is not a name is refused, not ignored.
    for body in [
        json!({"Input": "in.jsonl", "Output": "o", "MaxPayloadInMb": 1}),
        json!({"Input": "in.jsonl", "Output": "o", "Variant": 3}),
    ] {
        let r = admin(server.addr, Method::POST, "/transform-jobs", body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.error_type(), "malformed_request");
    }

    let done = http_job::run_to_end(server.addr, body("in.jsonl", "out")).await;
    assert_eq!(done["TransformJobStatus"], "Completed", "{done}");
    assert_eq!(done["counts"]["records"], 40);
    assert_eq!(lines(&root.join("out/in.jsonl.out")).len(), 40);
    let missing = admin(
        server.addr,
        Method::GET,
        "/transform-jobs/nope",
        Value::Null,
    )
    .await;
    assert_eq!(missing.status, 404);
    let _ = TOKEN;
    server.stop().await.unwrap();
}
