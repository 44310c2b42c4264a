//! The drift monitor end to end on captured records and a baseline made as the pipeline's
//! baseline step makes it: no drift in distribution, drift on shifted text, the minimum
//! sample size respected, the baseline read back, and actions fired once per violation
//! window.
#[allow(dead_code)]
#[path = "endpoint/common.rs"]
mod common;

use common::models;
use monitoring::baseline::{self, Baseline, Distribution, OTHER_TOKEN, TOP_TOKENS};
use monitoring::capture::{CaptureFormat, CaptureMode, CaptureRecord, Exchange};
use monitoring::drift::{
    run_once, Baselines, CheckResult, CheckType, MonitorConfig, RunStatus, Thresholds,
};

/// A run with one baseline: its one result.
fn run(job: &MonitorConfig) -> CheckResult {
    run_once(job).unwrap().into_single().unwrap()
}
use monitoring::profile::{Current, Profiler};
use serve::schedule::{Action, Monitor, ScheduleConfig};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LABELS: [&str; 3] = ["negative", "neutral", "positive"];

fn in_dist(i: usize) -> (String, usize) {
    let k = i % 3;
    let t = match k {
        0 => format!("Terrible fit and the zipper broke after {} days", i % 40),
        1 => format!("It is okay, nothing special about the colour {}", i % 40),
        _ => format!("I love this dress, the fabric is lovely {}", i % 40),
    };
    (t, k)
}

fn shifted(i: usize) -> (String, usize) {
    (format!("Quarterly semiconductor revenue guidance exceeded analyst consensus estimates by {i} basis points amid hyperscaler datacenter procurement acceleration"), 1)
}

fn write_baseline(dir: &Path, n: usize) {
    let texts: Vec<(String, usize)> = (1000..1000 + n).map(in_dist).collect();
    let profiler = Profiler::load(&models().a).unwrap();
    let mut profiled = Current::default();
    let refs: Vec<&str> = texts.iter().map(|t| t.0.as_str()).collect();
    profiled.add_texts(&refs, &profiler);
    let labels: Vec<String> = LABELS.iter().map(|s| s.to_string()).collect();
    let predicted: Vec<usize> = texts.iter().map(|t| t.1).collect();
    let (s, c) = baseline::from_profile(&profiled, &predicted, &labels);
    baseline::write(dir, &s, &c).unwrap();
}

fn write_capture(dir: &Path, texts: impl Iterator<Item = (String, usize)>) {
    write_capture_as(dir, texts, &CaptureFormat::default())
}

fn write_capture_as(
    dir: &Path,
    texts: impl Iterator<Item = (String, usize)>,
    format: &CaptureFormat,
) {
    let d = dir.join("A/2026/01/01/00");
    std::fs::create_dir_all(&d).unwrap();
    let mut lines = Vec::new();
    for (i, (t, k)) in texts.enumerate() {
        let input = serde_json::json!({ "text": t }).to_string();
        let output = serde_json::json!({ "label": LABELS[k] }).to_string();
        let id = format!("id-{i}");
        let e = Exchange::json("A", "v", &id, input.as_bytes(), output.as_bytes());
        serde_json::to_writer(&mut lines, &CaptureRecord::new(&e, format)).unwrap();
        lines.push(b'\n');
    }
    std::fs::write(d.join("part.jsonl"), lines).unwrap();
}

fn job(capture: &Path, baseline: &Path, out: &Path) -> MonitorConfig {
    MonitorConfig {
        capture_dir: capture.to_path_buf(),
        baselines: Baselines::One {
            baseline_dir: baseline.to_path_buf(),
            model_dir: Some(models().a.clone()),
        },
        window: None,
        thresholds: Thresholds::default(),
        out_dir: out.to_path_buf(),
        threads: 2,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    baseline: std::path::PathBuf,
    same: std::path::PathBuf,
    shift: std::path::PathBuf,
    small: std::path::PathBuf,
    out: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write_baseline(&p.join("baseline"), 900);
    write_capture(&p.join("same"), (0..600).map(in_dist));
    write_capture(&p.join("shift"), (0..600).map(shifted));
    write_capture(&p.join("small"), (0..40).map(shifted));
    Fixture {
        baseline: p.join("baseline"),
        same: p.join("same"),
        shift: p.join("shift"),
        small: p.join("small"),
        out: p.join("out"),
        _dir: dir,
    }
}

#[test]
fn baseline_round_trips_and_drift_is_found_only_when_shifted() {
    let f = fixture();
    let b = Baseline::load(&f.baseline).unwrap();
    assert_eq!(b.item_count, 900);
    let names: Vec<&str> = b.features.iter().map(|x| x.name.as_str()).collect();
    assert!(
        names.contains(&"token_length")
            && names.contains(&"predicted_label")
            && names.contains(&"token"),
        "{names:?}"
    );
    let token = b.features.iter().find(|x| x.name == "token").unwrap();
    match &token.distribution {
        Distribution::Categorical(buckets) => {
            assert!(buckets.len() <= TOP_TOKENS + 1);
            assert_eq!(buckets.last().unwrap().0, OTHER_TOKEN);
            assert!(buckets.iter().any(|(t, _)| t == "dress"), "{buckets:?}");
        }
        other => panic!("token is not categorical: {other:?}"),
    }

    let same = run(&job(&f.same, &f.baseline, &f.out));
    assert_eq!(same.status, RunStatus::Completed);
    assert!(same.violations.is_empty(), "{:#?}", same.violations);
    let same_token = same.features.iter().find(|x| x.name == "token").unwrap();
    assert!(!same_token.drift && same_token.count > 0, "{same_token:#?}");

    let shift = run(&job(&f.shift, &f.baseline, &f.out));
    let drifted: Vec<&str> = shift
        .violations
        .iter()
        .filter(|v| v.constraint_check_type == CheckType::BaselineDriftCheck)
        .map(|v| v.feature_name.as_str())
        .collect();
    assert!(drifted.contains(&"token_length"), "{:#?}", shift.violations);
    assert!(drifted.contains(&"token"), "{:#?}", shift.violations);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.out.join("constraint_violations.json")).unwrap())
            .unwrap();
    assert!(!v["violations"].as_array().unwrap().is_empty());
    let html = std::fs::read_to_string(f.out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("token_length"));

    let small = run(&job(&f.small, &f.baseline, &f.out));
    assert_eq!(small.status, RunStatus::InsufficientData);
    assert!(small.violations.is_empty());
}

/// An endpoint that captures one side of each exchange only (SageMaker's capture modes
/// `Input` and `Output`): the features of the other side are listed as not checked, not
/// reported as missing or incomplete, and the side captured is still judged.
#[test]
fn a_capture_of_one_side_judges_that_side_only() {
    let f = fixture();
    let p = f.out.parent().unwrap();
    let only = |mode| CaptureFormat {
        mode,
        text_types: None,
    };
    let names = |r: &CheckResult| -> Vec<String> {
        let mut v: Vec<String> = r
            .unchecked_features
            .iter()
            .map(|u| u.feature_name.clone())
            .collect();
        v.sort();
        v
    };

    // Requests only, shifted texts: text drift found, the prediction left unchecked.
    write_capture_as(
        &p.join("in"),
        (0..600).map(shifted),
        &only(CaptureMode::Input),
    );
    let r = run(&job(&p.join("in"), &f.baseline, &f.out));
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(names(&r), ["predicted_label"]);
    assert!(
        r.unchecked_features[0].reason.contains("0 of 600"),
        "{:?}",
        r.unchecked_features
    );
    let kinds: Vec<(&str, CheckType)> = r
        .violations
        .iter()
        .map(|v| (v.feature_name.as_str(), v.constraint_check_type))
        .collect();
    assert!(
        kinds.contains(&("token_length", CheckType::BaselineDriftCheck)),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().all(|(name, _)| *name != "predicted_label"),
        "no completeness or missing-column violation for an uncaptured side: {kinds:?}"
    );
    let html = std::fs::read_to_string(f.out.join("report.html")).unwrap();
    assert!(html.contains("Not checked") && html.contains("predicted_label"));

    // Responses only, in distribution: no violations; the text features unchecked.
    write_capture_as(
        &p.join("out-same"),
        (0..600).map(in_dist),
        &only(CaptureMode::Output),
    );
    let r = run(&job(&p.join("out-same"), &f.baseline, &f.out));
    assert!(r.violations.is_empty(), "{:#?}", r.violations);
    assert_eq!(names(&r), ["token", "token_length", "unknown_token_rate"]);
    let predicted = r.features.iter().find(|x| x.name == "predicted_label");
    assert_eq!(predicted.map(|x| x.count), Some(600), "{:#?}", r.features);

    // Responses only, every prediction one class: the label drift is still found.
    write_capture_as(
        &p.join("out-shift"),
        (0..600).map(|i| (in_dist(i).0, 0)),
        &only(CaptureMode::Output),
    );
    let r = run(&job(&p.join("out-shift"), &f.baseline, &f.out));
    assert!(
        r.violations
            .iter()
            .any(|v| v.feature_name == "predicted_label"
                && v.constraint_check_type == CheckType::BaselineDriftCheck),
        "{:#?}",
        r.violations
    );
}

#[tokio::test]
async fn actions_fire_once_per_violation_window() {
    let f = fixture();
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hits.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            let h = h.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    h.fetch_add(1, Ordering::SeqCst);
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                        ))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let mut m = Monitor::new(ScheduleConfig {
        interval: Duration::from_secs(3600),
        job: job(&f.shift, &f.baseline, &f.out),
        actions: vec![Action::Webhook(format!("http://{addr}/hook"))],
        retrain_after_labels: None,
        canary: None,
    });
    for _ in 0..3 {
        assert!(m.tick().await.unwrap().violations().next().is_some());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one window, one call");
    m.config.job.capture_dir = f.same.clone();
    assert!(m.tick().await.unwrap().violations().next().is_none());
    m.config.job.capture_dir = f.small.clone();
    m.tick().await.unwrap();
    m.config.job.capture_dir = f.shift.clone();
    m.tick().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2, "a new window fires again");
}
