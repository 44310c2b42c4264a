//! Swap under load, graceful shutdown, metrics.
use crate::common::*;
use hyper::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn swap_under_load_has_zero_failures() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let stop = Arc::new(AtomicBool::new(false));
    // Answers each client has had, so the test waits for states, not for times.
    let answered: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let mut clients = Vec::new();
    for i in 0..4 {
        let (addr, stop, answered) = (s.addr, stop.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = invoke_json(addr, r#""keep going""#).await;
                assert_eq!(r.status, 200, "{}", r.text());
                versions.push(r.json()["model_version"].as_str().unwrap().to_string());
                answered[i].fetch_add(1, Ordering::SeqCst);
            }
            versions
        }));
    }
    let counts = || -> Vec<usize> { answered.iter().map(|a| a.load(Ordering::SeqCst)).collect() };
    // Every client answered by A twice before the swap …
    until("each client answered twice", async || {
        counts().iter().all(|&n| n >= 2)
    })
    .await;
    let r = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/A/deploy",
        json!({"model": m.b}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // … and twice after it, so the last answer of each comes from a request sent after it.
    let at_swap = counts();
    until("each client answered twice after the swap", async || {
        counts().iter().zip(&at_swap).all(|(n, s)| *n >= s + 2)
    })
    .await;
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
    // Six requests held by a worker that answers only when released: shutdown begins while
    // they are in flight, does not end while they are, and each still gets its answer.
    let worker = HoldingWorker::start().await;
    let s = TestServer::start(config(vec![worker.variant("A")])).await;
    let mut inflight = Vec::new();
    for _ in 0..6 {
        let addr = s.addr;
        inflight.push(tokio::spawn(async move {
            invoke_json(addr, r#""in flight""#).await.status
        }));
    }
    worker.wait_holding(6).await;
    let addr = s.addr;
    let stopping = tokio::spawn(s.stop());
    // Shutdown has begun once `/ping` stops answering 200 (503, then refused).
    until("shutdown began", async || {
        !matches!(try_send(addr, Method::GET, "/ping", &[], "").await, Ok(r) if r.status == 200)
    })
    .await;
    assert!(
        !stopping.is_finished(),
        "shutdown ended with six requests in flight"
    );
    assert!(inflight.iter().all(|h| !h.is_finished()));
    worker.release();
    stopping.await.unwrap().unwrap();
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
