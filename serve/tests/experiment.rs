//! A/B experiments and shadow traffic: sticky assignment stable across restarts, weighted
//! split fractions, verdicts on constructed data, shadow responses never returned and
//! shadow copies captured.
#[allow(dead_code)]
#[path = "endpoint/common.rs"]
mod common;

use common::*;
use hyper::StatusCode;
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange};
use monitoring::experiment::{report, Experiment, ExperimentStore, ReportOptions, Verdict};
use monitoring::feedback::FeedbackRecord;
use serve::capture::CaptureConfig;
use serve::shadow::ShadowConfig;
use std::collections::HashMap;
use std::time::Duration;

async fn assignments(c: serve::ServeConfig) -> HashMap<String, String> {
    let s = TestServer::start(c).await;
    let mut out = HashMap::new();
    for i in 0..40 {
        let key = format!("user-{i}");
        let r = invoke(
            s.addr,
            &[("content-type", "text/plain"), ("x-sentio-session", &key)],
            "nice",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        out.insert(
            key,
            r.header("x-amzn-invoked-production-variant")
                .unwrap()
                .to_string(),
        );
    }
    s.stop().await.unwrap();
    out
}

#[tokio::test]
async fn sticky_assignment_survives_restarts_and_weights_split_traffic() {
    let m = models();
    let cfg = || config(vec![local("A", &m.a, 1.0), local("B", &m.b, 1.0)]);
    let first = assignments(cfg()).await;
    let second = assignments(cfg()).await;
    assert_eq!(first, second);
    let b = first.values().filter(|v| *v == "B").count();
    assert!((8..=32).contains(&b), "{b} of 40 to B");

    let s = TestServer::start(config(vec![local("A", &m.a, 3.0), local("B", &m.b, 1.0)])).await;
    let mut a = 0;
    for _ in 0..400 {
        let r = invoke(s.addr, &[("content-type", "text/plain")], "nice").await;
        a += usize::from(r.header("x-amzn-invoked-production-variant") == Some("A"));
    }
    assert!((255..=345).contains(&a), "{a} of 400 to A (expected 300)");
    s.stop().await.unwrap();
}

fn record(variant: &str, id: &str, label: &str) -> CaptureRecord {
    let out = serde_json::json!({ "label": label }).to_string();
    let e = Exchange {
        input_content_type: "text/plain",
        ..Exchange::json(variant, "v", id, b"x", out.as_bytes())
    };
    CaptureRecord::new(&e, &CaptureFormat::default())
}

/// `n` labelled requests per variant with the given accuracies.
fn data(n: usize, acc: &[(&str, f64)]) -> (Vec<CaptureRecord>, Vec<FeedbackRecord>) {
    let (mut caps, mut fb) = (Vec::new(), Vec::new());
    for (v, a) in acc {
        let right = (n as f64 * a).round() as usize;
        for i in 0..n {
            let id = format!("{v}-{i}");
            caps.push(record(v, &id, "pos"));
            let truth = if i < right { "pos" } else { "neg" };
            fb.push(FeedbackRecord {
                inference_id: id,
                labels: vec![truth.into()],
                at: None,
            });
        }
    }
    fb.push(FeedbackRecord {
        inference_id: "ghost".into(),
        labels: vec!["pos".into()],
        at: None,
    });
    (caps, fb)
}

#[test]
fn verdicts_on_constructed_data() {
    let mut e = Experiment::new("ab", "sentio", vec!["A".into(), "B".into()]).unwrap();
    e.started_at -= chrono::Duration::hours(1);
    let opts = ReportOptions::default();
    let (c, f) = data(1000, &[("A", 0.80), ("B", 0.86)]);
    let r = report(&e, &c, &f, &opts);
    assert!(
        matches!(&r.verdict, Verdict::Winner { variant, .. } if variant == "B"),
        "{:?}",
        r.verdict
    );
    assert_eq!(r.unknown_feedback_ids, 1);
    let (lo, hi) = r.variants["B"].accuracy_ci95.unwrap();
    assert!(lo < 0.86 && 0.86 < hi);

    let (c, f) = data(2000, &[("A", 0.80), ("B", 0.805)]);
    let r = report(&e, &c, &f, &opts);
    assert!(
        matches!(r.verdict, Verdict::NoSignificantDifference),
        "{:?}",
        r.verdict
    );

    let (c, f) = data(50, &[("A", 0.70), ("B", 0.90)]);
    let r = report(&e, &c, &f, &opts);
    match r.verdict {
        Verdict::NotEnoughData {
            needed_per_variant,
            have_min,
        } => {
            assert_eq!(have_min, 50);
            assert!(needed_per_variant > 100);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.variants["A"].requests, 50);
}

#[tokio::test]
async fn shadow_is_never_returned_and_is_captured_with_agreement() {
    let m = models();
    let cap = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut c = config(vec![local("Prod", &m.a, 1.0)]);
    c.endpoint_name = "sh".into();
    c.capture = Some(CaptureConfig::new(cap.path()));
    c.state_dir = Some(state.path().to_path_buf());
    c.shadow = Some(ShadowConfig {
        name: "Shadow".into(),
        model: m.b.display().to_string(),
        production: "Prod".into(),
        fraction: 1.0,
        max_in_flight: 1,
    });
    let s = TestServer::start(c).await;
    let addr = s.addr;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            tokio::spawn(async move {
                invoke(
                    addr,
                    &[("content-type", "text/plain")],
                    &format!("lovely fabric {i}"),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("x-amzn-invoked-production-variant"), Some("Prod"));
        assert_eq!(r.json()["variant"], "Prod");
    }
    let mut e = Experiment::new("shadow-1", "sh", vec!["Prod".into(), "Other".into()]).unwrap();
    e.shadow = Some("Shadow".into());
    e.started_at -= chrono::Duration::hours(1);
    ExperimentStore::new(state.path()).save(&e).unwrap();
    // Shadow copies finish after their callers got the answers, and records reach the
    // files on the writer's tick: wait (bounded) until every copy made is captured.
    let report = || async {
        let r = get(addr, "/experiments/shadow-1").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    };
    let mut v = report().await;
    for _ in 0..200 {
        let live = &v["shadow_live"];
        let done = live["copied"] == v["shadow"]["compared"]
            && v["variants"]["Prod"]["requests"] == 24
            && live["copied"].as_u64().unwrap_or(0) + live["dropped"].as_u64().unwrap_or(0) == 24;
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        v = report().await;
    }
    let live = &v["shadow_live"];
    let copied = live["copied"].as_u64().unwrap();
    assert_eq!(copied + live["dropped"].as_u64().unwrap(), 24);
    assert!(copied >= 1);
    assert_eq!(v["shadow"]["compared"].as_u64().unwrap(), copied);
    assert!(v["shadow"]["agreement_rate"].as_f64().is_some());
    assert_eq!(v["variants"]["Prod"]["requests"], 24);
    assert_eq!(
        get(addr, "/experiments/nope").await.status,
        StatusCode::NOT_FOUND
    );
    s.stop().await.unwrap();
}
