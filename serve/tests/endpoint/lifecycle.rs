//! Swap under load, graceful shutdown, metrics.
use crate::common::*;
use hyper::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn swap_under_load_has_zero_failures() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (addr, stop) = (s.addr, stop.clone());
        clients.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = invoke_json(addr, r#""keep going""#).await;
                assert_eq!(r.status, 200, "{}", r.text());
                versions.push(r.json()["model_version"].as_str().unwrap().to_string());
            }
            versions
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/A/deploy",
        json!({"model": m.b}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (va, vb) = (version_of(&m.a), version_of(&m.b));
    let mut seen_b_after_a = true;
    for c in clients {
        let versions = c.await.unwrap();
        assert!(versions.len() > 2);
        assert_eq!(versions.first().unwrap(), &va);
        assert_eq!(versions.last().unwrap(), &vb);
        // Never back to A once B answered.
        let first_b = versions.iter().position(|v| v == &vb).unwrap();
        seen_b_after_a &= versions[first_b..].iter().all(|v| v == &vb);
    }
    assert!(seen_b_after_a);
    let d = admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({}))
        .await
        .json();
    let dep = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|h| h["action"] == "deploy" && h["variant"] == "A")
        .unwrap()
        .clone();
    assert_eq!(dep["outcome"], "succeeded");
    assert_eq!(dep["previous_version"], va);
    assert_eq!(dep["model_version"], vb);
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    // Requests wait in the queue long enough to be in flight when shutdown begins.
    c.batch.max_queue_delay = Duration::from_millis(400);
    let s = TestServer::start(c).await;
    let mut inflight = Vec::new();
    for _ in 0..6 {
        let addr = s.addr;
        inflight.push(tokio::spawn(async move {
            invoke_json(addr, r#""in flight""#).await.status
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = s.addr;
    let t = std::time::Instant::now();
    s.stop().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    for h in inflight {
        assert_eq!(h.await.unwrap(), 200);
    }
    // No longer accepting.
    assert!(try_send(addr, Method::GET, "/ping", &[], "").await.is_err());
}

#[tokio::test]
async fn metrics_are_labelled_by_variant_and_version() {
    let m = models();
    let s = TestServer::start(config(vec![local("Metered", &m.a, 1.0)])).await;
    for _ in 0..3 {
        invoke_json(s.addr, r#""great""#).await;
    }
    invoke_json(s.addr, r#"{"text": ""}"#).await;
    let r = get(s.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let v = format!("model_version=\"{}\"", version_of(&m.a));
    let l = ["variant=\"Metered\"", v.as_str()];
    assert_eq!(
        metric(&text, "sentio_invocations_total", &l),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "sentio_invocation_4xx_errors_total", &l),
        Some(1.0)
    );
    for name in [
        "sentio_model_duration_seconds_count",
        "sentio_overhead_duration_seconds_count",
        "sentio_queue_duration_seconds_count",
        "sentio_batch_size_count",
        "sentio_queue_depth",
        "sentio_model_load_duration_seconds",
    ] {
        assert!(metric(&text, name, &l).is_some(), "{name} missing:\n{text}");
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "sentio_http_requests_total",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    assert!(!text.contains("inference_id"));
}
