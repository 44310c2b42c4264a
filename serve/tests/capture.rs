//! Data capture and ground truth against a real server: record shape and layout, failed
//! requests flagged, sampling rate, back-pressure (drops counted, serving unaffected),
//! feedback joined by inference id with unknown ids counted.
#[allow(dead_code)]
#[path = "endpoint/common.rs"]
mod common;

use common::*;
use hyper::{Method, StatusCode};
use monitoring::capture::{read_dir as read_capture_dir, CaptureRecord, Encoding, Side};
use serve::capture::{CaptureConfig, CaptureFormat, CaptureMode, TextTypes};
use std::path::Path;
use std::time::Duration;

/// Waits (bounded) until `dir` holds at least `n` records: the writer flushes on a tick.
async fn wait_for_records(dir: &Path, n: usize) -> Vec<CaptureRecord> {
    for _ in 0..200 {
        let r = read_capture_dir(dir).unwrap_or_default();
        if r.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    read_capture_dir(dir).unwrap_or_default()
}

#[tokio::test]
async fn captured_records_have_the_sagemaker_shape_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let mut c = config(vec![local("Cap", &m.a, 1.0)]);
    c.endpoint_name = "shop".into();
    c.capture = Some(CaptureConfig::new(dir.path()));
    let s = TestServer::start(c).await;
    let ok = invoke(
        s.addr,
        &[
            ("content-type", "application/json"),
            ("x-amzn-sagemaker-inference-id", "req-1"),
        ],
        r#"{"instances": ["I love this dress", "the zipper broke"]}"#,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let bad = invoke(s.addr, &[("content-type", "application/json")], "{not json").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let recs = wait_for_records(&dir.path().join("shop/Cap"), 2).await;
    assert_eq!(recs.len(), 2, "{recs:?}");
    let r = recs
        .iter()
        .find(|r| r.event_metadata.inference_id.as_deref() == Some("req-1"))
        .unwrap();
    let (input, output) = (
        r.capture_data.endpoint_input.as_ref().unwrap(),
        r.capture_data.endpoint_output.as_ref().unwrap(),
    );
    assert_eq!(input.mode, Side::Input);
    assert_eq!(input.encoding, Encoding::Json);
    assert_eq!(output.mode, Side::Output);
    assert_eq!(r.event_version, "0");
    assert_eq!(r.variant, "Cap");
    assert_eq!(r.model_version, version_of(&m.a));
    assert!(!r.failed);
    assert_eq!(r.texts(), ["I love this dress", "the zipper broke"]);
    assert_eq!(r.labels().len(), 2);
    let failed = recs
        .iter()
        .find(|r| r.event_metadata.inference_id.as_deref() != Some("req-1"))
        .unwrap();
    assert!(failed.failed);
    assert_eq!(failed.status, Some(400));
    // capture/<endpoint>/<variant>/YYYY/MM/DD/HH/*.jsonl
    let files = monitoring::capture::jsonl_files(&dir.path().join("shop/Cap")).unwrap();
    let rel = files[0].strip_prefix(dir.path()).unwrap();
    let parts: Vec<_> = rel
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    assert_eq!(parts.len(), 7, "{rel:?}");
    assert_eq!(parts[2].len(), 4);
    assert!(parts[6].ends_with(".jsonl"));
    s.stop().await.unwrap();
}

#[tokio::test]
async fn sampling_captures_the_configured_share() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(vec![local("Samp", &models().a, 1.0)]);
    let mut cap = CaptureConfig::new(dir.path());
    cap.sampling_percent = 25.0;
    c.capture = Some(cap);
    let s = TestServer::start(c).await;
    post_texts(s.addr, (0..400).map(|i| format!("nice dress {i}"))).await;
    // Stopping writes every record taken before the server exits.
    s.stop().await.unwrap();
    let got = read_capture_dir(dir.path()).unwrap().len();
    // 25% of 400 = 100, sd ≈ 8.7: ±5 sd (a fair sampler fails about once in 2 million runs)
    assert!((57..=143).contains(&got), "{got}");
}

/// A server of one variant of model A that captures every request into a new folder.
async fn capturing_server(variant: &str) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(vec![local(variant, &models().a, 1.0)]);
    c.capture = Some(CaptureConfig::new(dir.path()));
    (dir, TestServer::start(c).await)
}

/// Invokes the endpoint once per text (`text/plain`), each answered 200.
async fn post_texts(addr: std::net::SocketAddr, texts: impl Iterator<Item = String>) {
    for text in texts {
        let r = invoke(addr, &[("content-type", "text/plain")], &text).await;
        assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.text());
    }
}

async fn put_capture(addr: std::net::SocketAddr, body: serde_json::Value) -> Reply {
    admin(addr, Method::PUT, "/v1/admin/capture", body).await
}

async fn capture_state(addr: std::net::SocketAddr) -> serde_json::Value {
    let r = admin(
        addr,
        Method::GET,
        "/v1/admin/capture",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn the_sampling_percentage_changes_live_through_the_management_api() {
    let (dir, s) = capturing_server("Live").await;
    let calls =
        |from: usize, n: usize| post_texts(s.addr, (from..from + n).map(|i| format!("nice {i}")));
    let root = dir.path().join("sentio");
    calls(0, 5).await;
    assert_eq!(wait_for_records(&root, 5).await.len(), 5);

    let r = put_capture(s.addr, serde_json::json!({"sampling_percent": 0})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["sampling_percent"], 0.0);
    calls(5, 20).await;
    let r = put_capture(s.addr, serde_json::json!({"sampling_percent": 100.0})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    calls(25, 3).await;
    // Every call has returned, so the sampling decisions are all made: 8 sampled.
    assert_eq!(capture_state(s.addr).await["counts"]["sampled"], 8);
    let recs = wait_for_records(&root, 8).await;
    let mut texts: Vec<String> = recs.iter().flat_map(|r| r.texts()).collect();
    texts.sort();
    assert_eq!(recs.len(), 8, "paused for the 20 calls in between");
    let mut expected: Vec<String> = (0..5).chain(25..28).map(|i| format!("nice {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected);

    let d = capture_state(s.addr).await;
    assert_eq!(d["configured"], true);
    assert_eq!(d["sampling_percent"], 100.0);
    assert_eq!(d["counts"]["sampled"], 8);
    assert_eq!(d["counts"]["dropped"], 0);
    assert_eq!(d["destination"], root.to_str().unwrap());

    // Bad values are refused and change nothing.
    for (body, status) in [
        (
            serde_json::json!({"sampling_percent": 101}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({"sampling_percent": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({"sampling_percent": "50"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            serde_json::json!({"samplingPercent": 50}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = put_capture(s.addr, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }
    let no_token = send(
        s.addr,
        Method::PUT,
        "/v1/admin/capture",
        &[("content-type", "application/json")],
        r#"{"sampling_percent": 0}"#,
    )
    .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(capture_state(s.addr).await["sampling_percent"], 100.0);
    s.stop().await.unwrap();

    // Without --capture-dir there is nothing to change: 409, and GET says so.
    let s = TestServer::start(config(vec![local("None", &models().a, 1.0)])).await;
    let r = put_capture(s.addr, serde_json::json!({"sampling_percent": 5})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("--capture-dir"), "{}", r.text());
    assert_eq!(
        capture_state(s.addr).await,
        serde_json::json!({"configured": false})
    );
    s.stop().await.unwrap();
}

/// SageMaker's `CaptureMode` and `CaptureContentTypeHeader`: one side of each exchange
/// only, and only the listed content types stored as text (any other as base64).
#[tokio::test]
async fn the_capture_mode_and_content_types_shape_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let start = |variant: &'static str, format: CaptureFormat| {
        let mut c = config(vec![local(variant, &models().a, 1.0)]);
        let mut cap = CaptureConfig::new(dir.path());
        cap.format = format;
        c.capture = Some(cap);
        TestServer::start(c)
    };
    let types = TextTypes::new(&["application/json".into()], &[]).unwrap();
    let s = start(
        "In",
        CaptureFormat {
            mode: CaptureMode::Input,
            text_types: Some(types),
        },
    )
    .await;
    let json_body = r#"{"instances": ["I love this dress"]}"#;
    for (ct, id, body) in [
        ("application/json; charset=utf-8", "json-1", json_body),
        ("text/csv", "csv-1", "the zipper broke\n"),
    ] {
        let r = invoke(
            s.addr,
            &[("content-type", ct), ("x-amzn-sagemaker-inference-id", id)],
            body,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{ct}: {}", r.text());
    }
    let root = dir.path().join("sentio");
    let recs = wait_for_records(&root.join("In"), 2).await;
    assert_eq!(recs.len(), 2);
    let by_id = |id: &str| {
        recs.iter()
            .find(|r| r.event_metadata.inference_id.as_deref() == Some(id))
            .unwrap()
    };
    for r in &recs {
        assert!(r.capture_data.endpoint_output.is_none(), "{r:?}");
        assert!(r.labels().is_empty());
    }
    let json = by_id("json-1")
        .capture_data
        .endpoint_input
        .as_ref()
        .unwrap();
    assert_eq!(
        (json.encoding, json.data.as_str()),
        (Encoding::Json, json_body)
    );
    assert_eq!(by_id("json-1").texts(), ["I love this dress"]);
    let csv = by_id("csv-1").capture_data.endpoint_input.as_ref().unwrap();
    assert_eq!(csv.encoding, Encoding::Base64, "text/csv is not listed");
    assert_eq!(csv.bytes().unwrap(), b"the zipper broke\n");
    assert_eq!(by_id("csv-1").texts(), ["the zipper broke"]);
    let d = capture_state(s.addr).await;
    assert_eq!(d["capture_mode"], "Input");
    assert_eq!(
        d["content_types"],
        serde_json::json!({"json": ["application/json"], "csv": []})
    );
    s.stop().await.unwrap();

    let s = start(
        "Out",
        CaptureFormat {
            mode: CaptureMode::Output,
            text_types: None,
        },
    )
    .await;
    post_texts(s.addr, ["nice dress".to_string()].into_iter()).await;
    let recs = wait_for_records(&root.join("Out"), 1).await;
    assert_eq!(recs.len(), 1);
    assert!(recs[0].capture_data.endpoint_input.is_none());
    assert!(recs[0].texts().is_empty());
    assert_eq!(recs[0].labels().len(), 1);
    assert!(recs[0].labels()[0].is_some(), "{:?}", recs[0]);
    let d = capture_state(s.addr).await;
    assert_eq!(d["capture_mode"], "Output");
    assert_eq!(d["content_types"], serde_json::Value::Null);
    s.stop().await.unwrap();
}

#[tokio::test]
async fn stopping_the_server_writes_every_captured_record_first() {
    let (dir, s) = capturing_server("Stop").await;
    // Up to ~6 kB each; the last ones are still in the channel or the writer's buffer
    // when the server is stopped.
    let texts: Vec<String> = (0..120)
        .map(|i| format!("nice dress {i}{}", " very".repeat(i * 10)))
        .collect();
    post_texts(s.addr, texts.iter().cloned()).await;
    s.stop().await.unwrap();
    // Read at once: `run` returned only after the writer had written and flushed them.
    let mut got: Vec<String> = read_capture_dir(dir.path())
        .unwrap()
        .iter()
        .flat_map(|r| r.texts())
        .collect();
    got.sort();
    let mut expected = texts;
    expected.sort();
    assert!(
        got == expected,
        "{} of {} records",
        got.len(),
        expected.len()
    );
}

#[tokio::test]
async fn a_full_capture_buffer_drops_and_counts_without_hurting_serving() {
    // An unwritable capture root (a file) and a buffer of one record: records fail to be
    // written or are dropped, and each is counted as one or the other.
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut c = config(vec![local("Press", &models().a, 1.0)]);
    let mut cap = CaptureConfig::new(file.path());
    cap.buffer = 1;
    c.capture = Some(cap);
    let s = TestServer::start(c).await;
    let addr = s.addr;
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            tokio::spawn(async move {
                let text = format!("ok {i} {}", "x".repeat(70_000));
                invoke(addr, &[("content-type", "text/plain")], &text).await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().status, StatusCode::OK);
    }
    // Every request has its answer, so each record is taken or dropped; the writer may
    // still be failing the last ones taken: wait (bounded) until it has.
    let counts = || async {
        let m = get(addr, "/metrics").await.text();
        let n = |name| metric(&m, name, &["Press"]).unwrap_or(0.0);
        (
            n("sentio_capture_records_total"),
            n("sentio_capture_dropped_total"),
            n("sentio_capture_write_errors_total"),
        )
    };
    let (mut captured, mut dropped, mut errors) = counts().await;
    for _ in 0..200 {
        if errors >= captured {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        (captured, dropped, errors) = counts().await;
    }
    assert_eq!(captured + dropped, 48.0, "{captured} + {dropped}");
    assert_eq!(
        errors, captured,
        "every accepted record failed to write and was counted"
    );
    s.stop().await.unwrap();
}

#[tokio::test]
async fn feedback_joins_by_inference_id_and_counts_unknown_ids() {
    let cap = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut c = config(vec![local("Fb", &models().a, 1.0)]);
    c.endpoint_name = "fb".into();
    c.capture = Some(CaptureConfig::new(cap.path()));
    c.state_dir = Some(state.path().to_path_buf());
    let s = TestServer::start(c).await;
    let mut predicted = Vec::new();
    for i in 0..6 {
        let id = format!("fb-{i}");
        let r = invoke(
            s.addr,
            &[
                ("content-type", "text/plain"),
                ("x-amzn-sagemaker-inference-id", &id),
            ],
            "I love this dress",
        )
        .await;
        predicted.push(r.json()["label"].as_str().unwrap().to_string());
    }
    wait_for_records(&cap.path().join("fb"), 6).await;
    // Four right, one wrong, one unknown id.
    let mut items: Vec<serde_json::Value> = (0..4)
        .map(|i| serde_json::json!({"inferenceId": format!("fb-{i}"), "label": predicted[i]}))
        .collect();
    let wrong = ["negative", "neutral", "positive"]
        .into_iter()
        .find(|l| *l != predicted[4])
        .unwrap();
    items.push(serde_json::json!({"inferenceId": "fb-4", "label": wrong}));
    items.push(serde_json::json!({"inferenceId": "nobody", "label": "positive"}));
    let r = send(
        s.addr,
        Method::POST,
        "/feedback",
        &[("content-type", "application/json")],
        serde_json::Value::Array(items).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (
            v["accepted"].as_u64(),
            v["matched"].as_u64(),
            v["unknown"].as_u64()
        ),
        (Some(6), Some(5), Some(1))
    );
    let bad = send(
        s.addr,
        Method::POST,
        "/feedback",
        &[],
        r#"{"inferenceId":"x"}"#,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A label that is none of the model's classes is refused, the whole batch with it.
    let bogus = send(
        s.addr,
        Method::POST,
        "/feedback",
        &[("content-type", "application/json")],
        r#"[{"inferenceId":"fb-0","label":"bogus"}]"#.to_string(),
    )
    .await;
    assert_eq!(
        bogus.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bogus.text()
    );

    let truth = monitoring::feedback::read_feedback(&state.path().join("feedback/fb")).unwrap();
    assert_eq!(truth.unreadable, 0);
    let q = monitoring::quality::quality(&read_capture_dir(cap.path()).unwrap(), &truth.records);
    assert_eq!(q.unknown_ids, 1);
    let fb = &q.variants["Fb"];
    assert_eq!((fb.n, fb.correct()), (5, 4));
    assert!((fb.accuracy - 0.8).abs() < 1e-12);
    assert_eq!(fb.confusion_matrix.iter().flatten().sum::<usize>(), 5);
    s.stop().await.unwrap();
}

/// Ground truth cannot be forged or double-counted: with tokens configured `/feedback` and
/// `GET /experiments/{id}` refuse requests without them (401) or with a wrong one (403);
/// a second label for the same inference id replaces the first (counted as replaced, one
/// record per id when read back).
#[tokio::test]
async fn feedback_and_reports_need_their_tokens_and_a_label_is_counted_once() {
    let cap = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut c = config(vec![local("Fb", &models().a, 1.0)]);
    c.endpoint_name = "fbauth".into();
    c.capture = Some(CaptureConfig::new(cap.path()));
    c.state_dir = Some(state.path().to_path_buf());
    c.feedback_token = Some("fb-token".to_string().into());
    c.read_token = Some("read-token".to_string().into());
    let s = TestServer::start(c).await;
    let r = invoke(
        s.addr,
        &[
            ("content-type", "text/plain"),
            ("x-amzn-sagemaker-inference-id", "once"),
        ],
        "I love this dress",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    wait_for_records(&cap.path().join("fbauth"), 1).await;
    let label = |l: &str| format!(r#"[{{"inferenceId":"once","label":"{l}"}}]"#);
    let addr = s.addr;
    let post = |auth: Option<&'static str>, body: String| async move {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        send(addr, Method::POST, "/feedback", &headers, body).await
    };
    let none = post(None, label("positive")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{}", none.text());
    let wrong = post(Some("Bearer nope"), label("positive")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.text());
    let first = post(Some("Bearer fb-token"), label("positive")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text());
    assert_eq!(first.json()["replaced"], 0, "{}", first.text());
    let second = post(Some("Bearer fb-token"), label("negative")).await;
    assert_eq!(second.status, StatusCode::ACCEPTED, "{}", second.text());
    assert_eq!(second.json()["replaced"], 1, "{}", second.text());
    let truth = monitoring::feedback::read_feedback(&state.path().join("feedback/fbauth")).unwrap();
    assert_eq!(truth.records.len(), 1, "{:?}", truth.records);
    assert_eq!(truth.replaced, 1);

    for (auth, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("Bearer nope"), StatusCode::FORBIDDEN),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let r = send(
            s.addr,
            Method::GET,
            "/experiments/none",
            &headers,
            String::new(),
        )
        .await;
        assert_eq!(r.status, status, "{}", r.text());
    }
    let allowed = send(
        s.addr,
        Method::GET,
        "/experiments/none",
        &[("authorization", "Bearer read-token")],
        String::new(),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::NOT_FOUND, "{}", allowed.text());
    s.stop().await.unwrap();
}
