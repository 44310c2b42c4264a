//! Every error status, always with the one JSON shape; never a 500 for a client mistake.
use crate::common::*;
use hyper::Method;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn client_mistakes_get_their_status_and_json_shape() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.max_instances = 5;
    let s = TestServer::start(c).await;
    let json = [("content-type", "application/json")];
    let cases: Vec<(Reply, u16, &str)> = vec![
        (
            invoke_json(s.addr, "{not json").await,
            400,
            "malformed_request",
        ),
        (invoke_json(s.addr, "42").await, 400, "malformed_request"),
        (
            invoke_json(s.addr, r#"{"text": 5}"#).await,
            400,
            "malformed_request",
        ),
        (
            invoke(
                s.addr,
                &[
                    ("content-type", "application/json"),
                    ("x-amzn-sagemaker-target-variant", "Nope"),
                ],
                r#""x""#,
            )
            .await,
            400,
            "unknown_variant",
        ),
        (
            invoke(
                s.addr,
                &[
                    ("content-type", "application/json"),
                    ("x-amzn-sagemaker-target-variant", "-bad_name"),
                ],
                r#""x""#,
            )
            .await,
            400,
            "malformed_request",
        ),
        (
            invoke(
                s.addr,
                &[
                    ("content-type", "application/json"),
                    ("x-amzn-sagemaker-inference-id", &"i".repeat(65)),
                ],
                r#""x""#,
            )
            .await,
            400,
            "malformed_request",
        ),
        (
            invoke(s.addr, &[("content-type", "image/png")], "x").await,
            415,
            "unsupported_media_type",
        ),
        (
            invoke(
                s.addr,
                &[
                    ("content-type", "application/json"),
                    ("accept", "image/png"),
                ],
                r#""x""#,
            )
            .await,
            406,
            "not_acceptable",
        ),
        (
            invoke(s.addr, &json, r#"{"text": "   "}"#).await,
            422,
            "invalid_value",
        ),
        (
            invoke(s.addr, &json, r#"{"instances": []}"#).await,
            422,
            "invalid_value",
        ),
        (
            invoke(s.addr, &json, r#"{"instances": ["a","b","c","d","e","f"]}"#).await,
            422,
            "invalid_value",
        ),
        (
            invoke(s.addr, &[("content-type", "text/plain")], "").await,
            422,
            "invalid_value",
        ),
        (get(s.addr, "/nope").await, 404, "not_found"),
        (get(s.addr, "/invocations").await, 405, "method_not_allowed"),
    ];
    for (r, status, kind) in cases {
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        assert_eq!(r.error_type(), kind);
    }
    // After routing, errors still name the variant that was picked.
    let r = invoke(s.addr, &json, r#"{"text": ""}"#).await;
    assert_eq!(r.header("x-amzn-invoked-production-variant"), Some("A"));
}

/// Raw HTTP/1.1 exchange: send `head` (and optionally a body writer), read the response.
async fn raw(addr: std::net::SocketAddr, head: String, body: Option<Vec<u8>>) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    if let Some(b) = body {
        tokio::spawn(async move {
            for chunk in b.chunks(64 * 1024) {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
                if wr.write_all(&framed).await.is_err() {
                    return;
                }
            }
            let _ = wr.write_all(b"0\r\n\r\n").await;
        });
    }
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), rd.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn bodies_over_six_mib_are_413() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    // Declared too large: refused before reading.
    let head = format!(
        "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        6 * 1024 * 1024 + 1
    );
    let r = raw(s.addr, head, None).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert!(r.contains("payload_too_large"), "{r}");
    // Streamed (chunked) past the limit.
    let head = "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
    let r = raw(s.addr, head, Some(vec![b'a'; 7 * 1024 * 1024])).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
}

#[tokio::test]
async fn load_is_shed_fast_with_429_and_retry_after() {
    // Two requests that hold their slots: complete, and held by a worker that does not
    // answer until released (a slow body no longer holds a slot: see `hostile`).
    let worker = HoldingWorker::start().await;
    let mut c = config(vec![worker.variant("A")]);
    c.limits.max_concurrency = 2;
    let s = TestServer::start(c).await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let addr = s.addr;
        holders.push(tokio::spawn(async move {
            invoke_json(addr, r#""held""#).await.status
        }));
    }
    worker.wait_holding(2).await;
    let r = invoke_json(s.addr, r#""great""#).await;
    assert_eq!(r.status, 429, "{}", r.text());
    // Answered without waiting for a slot: both holders are still held.
    assert!(holders.iter().all(|h| !h.is_finished()));
    assert_eq!(r.error_type(), "overloaded");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Health checks are not shed.
    assert_eq!(get(s.addr, "/ping").await.status, 200);
    worker.release();
    for h in holders {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(invoke_json(s.addr, r#""great""#).await.status, 200);
    let text = get(s.addr, "/metrics").await.text();
    assert!(
        metric(
            &text,
            "sentio_shed_requests_total",
            &["reason=\"concurrency_limit\""]
        )
        .unwrap()
            >= 1.0
    );
}

#[tokio::test]
async fn unavailable_is_503_and_a_failed_remote_is_424() {
    let m = models();
    // A worker, fronted by a proxy with a local variant too.
    let mut wc = config(vec![local("W", &m.b, 1.0)]);
    wc.worker = true;
    let worker = TestServer::start(wc).await;
    let remote = serve::VariantSpec {
        name: "Remote".into(),
        source: serve::VariantSource::Upstream(worker.url()),
        weight: 0.0,
    };
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0), remote])).await;
    let target = |v: &'static str| {
        [
            ("content-type", "application/json"),
            ("x-amzn-sagemaker-target-variant", v),
        ]
    };
    let ok = invoke(s.addr, &target("Remote"), r#"{"text": "great"}"#).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.header("x-amzn-invoked-production-variant"),
        Some("Remote")
    );
    assert_eq!(ok.json()["model_version"], version_of(&m.b));
    assert_eq!(
        ok.json()["variant"],
        "Remote",
        "the body names the variant, as the header"
    );
    // A client error is the worker's answer, passed through.
    let bad = invoke(s.addr, &target("Remote"), r#"{"text": ""}"#).await;
    assert_eq!(bad.status, 422);
    // The worker has no management API.
    assert_eq!(
        admin(
            worker.addr,
            Method::GET,
            "/v1/admin/endpoint",
            serde_json::json!({})
        )
        .await
        .status,
        404
    );

    worker.stop().await.unwrap();
    let failed = invoke(s.addr, &target("Remote"), r#"{"text": "great"}"#).await;
    assert_eq!(failed.status, 424, "{}", failed.text());
    assert_eq!(failed.error_type(), "variant_failed");
    // The local variant still serves; /ping turns 503 once the probe sees the worker gone.
    assert_eq!(invoke(s.addr, &target("A"), r#""great""#).await.status, 200);
    let mut ping = 200;
    for _ in 0..60 {
        ping = get(s.addr, "/ping").await.status.as_u16();
        if ping == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ping, 503);

    // Every weight zero and no target: unavailable, 503.
    admin(
        s.addr,
        Method::PUT,
        "/v1/admin/weights",
        serde_json::json!({"weights": {"A": 0.0}}),
    )
    .await;
    let r = invoke_json(s.addr, r#""great""#).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error_type(), "unavailable");
}

#[tokio::test]
async fn ping_is_503_until_ready_and_a_failed_start_returns_an_error() {
    // An upstream that accepts connections but never answers keeps the server starting.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    let mut c = config(vec![serve::VariantSpec {
        name: "R".into(),
        source: serve::VariantSource::Upstream(format!("http://{silent_addr}")),
        weight: 1.0,
    }]);
    c.limits.upstream_timeout = Duration::from_millis(1500);
    let s = TestServer::spawn(c).await;
    let p = get(s.addr, "/ping").await;
    assert_eq!(p.status, 503);
    let r = invoke_json(s.addr, r#""great""#).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error_type(), "unavailable");
    let err = s.join().await.unwrap_err();
    assert!(matches!(err, serve::ServeError::Upstream { .. }), "{err}");
}
