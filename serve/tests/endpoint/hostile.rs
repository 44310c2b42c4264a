//! Hostile clients and faults against a real server: slow headers and bodies, idle
//! connections, the connection cap, the shutdown grace, limits that cannot work together,
//! crafted artifacts, paths in unauthenticated answers. Every test asserts what happened
//! (statuses, which connections were closed, counts), never how fast.
use crate::common::*;
use hyper::Method;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for anything a test waits on (never a measured time).
const PATIENCE: Duration = Duration::from_secs(60);

/// Reads until the peer closes the connection; what was read, or `None` when it did not
/// close within [`PATIENCE`].
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let done = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    done.ok()
        .map(|_| String::from_utf8_lossy(&out).into_owned())
}

/// Reads one response head (up to the blank line) and, with `Content-Length`, its body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            let text = String::from_utf8_lossy(&out).to_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if out.len() >= end + 4 + len {
                    break;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("a response");
    String::from_utf8_lossy(&out).into_owned()
}

fn post_head(content_length: usize, extra: &str) -> String {
    format!(
        "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {content_length}\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn slow_bodies_do_not_hold_a_slot() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.max_concurrency = 1;
    let s = TestServer::start(c).await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut st = TcpStream::connect(s.addr).await.unwrap();
        st.write_all(post_head(100, "expect: 100-continue\r\n").as_bytes())
            .await
            .unwrap();
        // The server asks for the body: it is reading it (with one slot, the second
        // request would have been shed with 429 if a body being read held a slot).
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(PATIENCE, st.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let got = String::from_utf8_lossy(&buf[..n]);
        assert!(got.starts_with("HTTP/1.1 100 Continue"), "{got}");
        st.write_all(b"{\"te").await.unwrap();
        slow.push(st);
    }
    for _ in 0..3 {
        let r = invoke_json(s.addr, r#""great""#).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

#[tokio::test]
async fn bodies_that_never_finish_get_408_and_their_connection_closed() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.body_read_timeout = Duration::from_secs(1);
    c.limits.min_body_rate = 0;
    let s = TestServer::start(c).await;
    let chunked = "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\n\
                   transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
    for start in [
        format!("{}{{\"text", post_head(100, "")),
        chunked.to_string(),
    ] {
        let mut st = TcpStream::connect(s.addr).await.unwrap();
        st.write_all(start.as_bytes()).await.unwrap();
        let r = read_to_close(&mut st).await.expect("the server closes");
        assert!(r.starts_with("HTTP/1.1 408"), "{r}");
        assert!(r.contains("\"type\":\"request_timeout\""), "{r}");
        assert!(r.to_lowercase().contains("connection: close"), "{r}");
    }
}

#[tokio::test]
async fn bodies_slower_than_the_minimum_rate_get_408() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.body_read_timeout = Duration::from_secs(600);
    c.limits.min_body_rate = 1000;
    c.limits.body_rate_grace = Duration::ZERO;
    let s = TestServer::start(c).await;
    let st = TcpStream::connect(s.addr).await.unwrap();
    let (mut rd, mut wr) = st.into_split();
    wr.write_all(post_head(1000, "").as_bytes()).await.unwrap();
    // One byte every 50 ms: far below 1000 bytes/s, however busy the machine.
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if wr.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, rd.read_to_end(&mut out))
        .await
        .expect("answered before the trickle ends")
        .ok();
    let r = String::from_utf8_lossy(&out);
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert!(r.contains("slower than 1000 bytes/s"), "{r}");
    trickle.abort();
}

#[tokio::test]
async fn slowloris_headers_and_silent_connections_are_closed() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.header_read_timeout = Duration::from_secs(1);
    let s = TestServer::start(c).await;
    // Headers that never end: one more header line every 100 ms.
    let st = TcpStream::connect(s.addr).await.unwrap();
    let (mut rd, mut wr) = st.into_split();
    wr.write_all(b"POST /invocations HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let drip = tokio::spawn(async move {
        for i in 0..600 {
            if wr
                .write_all(format!("x-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    let mut out = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, rd.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "the slowloris connection is still open");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    drip.abort();
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(read_to_close(&mut silent).await.as_deref(), Some(""));
    // The server is fine.
    assert_eq!(get(s.addr, "/ping").await.status, 200);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.idle_timeout = Duration::from_secs(1);
    let s = TestServer::start(c).await;
    let mut st = TcpStream::connect(s.addr).await.unwrap();
    for _ in 0..2 {
        st.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let r = read_response(&mut st).await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    // Then nothing: closed quietly (no answer, end of stream).
    assert_eq!(read_to_close(&mut st).await.as_deref(), Some(""));
}

/// A keep-alive connection that was admitted (its `/ping` answered 200), or `None` when
/// it was refused.
async fn admitted(addr: SocketAddr) -> Option<TcpStream> {
    let mut st = TcpStream::connect(addr).await.ok()?;
    st.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .ok()?;
    let r = read_response(&mut st).await;
    r.starts_with("HTTP/1.1 200").then_some(st)
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_with_429() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.max_connections = Some(4);
    let s = TestServer::start(c).await;
    // Four idle keep-alive connections hold the four slots (connections the readiness
    // checks opened may still hold one for a moment: retried, bounded).
    let mut held = Vec::new();
    for _ in 0..400 {
        if held.len() == 4 {
            break;
        }
        match admitted(s.addr).await {
            Some(st) => held.push(st),
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    assert_eq!(held.len(), 4);
    // The fifth is answered 429 and closed, however many try.
    for _ in 0..3 {
        let mut st = TcpStream::connect(s.addr).await.unwrap();
        let _ = st.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n").await;
        let r = read_to_close(&mut st).await.expect("closed");
        assert!(r.starts_with("HTTP/1.1 429"), "{r}");
        assert!(r.contains("\"type\":\"overloaded\""), "{r}");
        assert!(r.contains("retry-after: 1"), "{r}");
    }
    // The held connections still work.
    for st in &mut held {
        st.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(st).await.starts_with("HTTP/1.1 200"));
    }
    // One closes: a new connection gets its slot (once the server has seen the close).
    drop(held.pop());
    let mut again = None;
    for _ in 0..400 {
        again = admitted(s.addr).await;
        if again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut st = again.expect("a slot after a connection closed");
    st.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let text = read_response(&mut st).await;
    let refused = metric(
        &text,
        "sentio_shed_requests_total",
        &["reason=\"connection_limit\""],
    );
    assert!(refused.unwrap_or(0.0) >= 3.0, "{text}");
}

#[tokio::test]
async fn during_the_grace_period_ping_is_503_and_requests_are_served_with_connection_close() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    // Longer than the test: the test ends inside the grace period.
    c.limits.shutdown_grace = Duration::from_secs(3600);
    let mut s = TestServer::start(c).await;
    let mut keep_alive = TcpStream::connect(s.addr).await.unwrap();
    let request = "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\n\
                   content-length: 5\r\n\r\ngreat";
    keep_alive.write_all(request.as_bytes()).await.unwrap();
    let before = read_response(&mut keep_alive).await;
    assert!(before.starts_with("HTTP/1.1 200"), "{before}");
    assert!(
        !before.to_lowercase().contains("connection: close"),
        "{before}"
    );
    s.signal();
    // /ping turns 503 (bounded wait: the signal reaches the accept loop asynchronously).
    let mut ping = 200;
    for _ in 0..400 {
        ping = get(s.addr, "/ping").await.status.as_u16();
        if ping == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ping, 503);
    // The open keep-alive connection is still served, and told to close.
    keep_alive.write_all(request.as_bytes()).await.unwrap();
    let during = read_to_close(&mut keep_alive).await.expect("closed after");
    assert!(during.starts_with("HTTP/1.1 200"), "{during}");
    assert!(
        during.to_lowercase().contains("connection: close"),
        "{during}"
    );
    // New connections are still accepted and served.
    let r = invoke_json(s.addr, r#""still serving""#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("connection"), Some("close"));
}

#[tokio::test]
async fn limits_that_cannot_work_together_are_refused_at_start() {
    let m = models();
    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.limits.max_instances = 50;
    c.batch.queue_capacity = 10;
    let e = TestServer::spawn(c).await.join().await.unwrap_err();
    assert!(matches!(e, serve::ServeError::Config(_)), "{e}");
    assert!(e.to_string().contains("--queue-capacity (10)"), "{e}");
}

/// A copy of `src` whose `config.json` claims `bigram_buckets` rows, the manifest
/// re-hashed to match (what someone who can write the artifact folder can do).
fn crafted(src: &Path, dir: &Path, bigram_buckets: u64) -> std::path::PathBuf {
    let out = dir.join("crafted");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    let cpath = out.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cpath).unwrap()).unwrap();
    config["model"]["bigram_buckets"] = bigram_buckets.into();
    std::fs::write(&cpath, serde_json::to_vec(&config).unwrap()).unwrap();
    let mpath = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    manifest["files"]["config.json"] = models::artifact::file_digest(&cpath).unwrap().into();
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    out
}

#[tokio::test]
async fn a_crafted_artifact_is_refused_at_load_and_the_old_version_keeps_serving() {
    let m = models();
    let tmp = tempfile::tempdir().unwrap();
    let bad = crafted(&m.a, tmp.path(), 1_000_000_000_000_000);
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let r = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/A/deploy",
        json!({"model": bad}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_type(), "model_load_failed");
    assert!(r.text().contains("bigram_buckets"), "{}", r.text());
    let ok = invoke_json(s.addr, r#""great""#).await;
    assert_eq!(ok.json()["model_version"], version_of(&m.a));
    // Started with it: a clear error, no panic.
    let e = TestServer::spawn(config(vec![local("A", &bad, 1.0)]))
        .await
        .join()
        .await
        .unwrap_err();
    assert!(matches!(e, serve::ServeError::ModelLoad { .. }), "{e}");
    assert!(e.to_string().contains("bigram_buckets"), "{e}");
}

#[tokio::test]
async fn unauthenticated_answers_name_no_path() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let dir = m.a.parent().unwrap().display().to_string();
    let json = [("content-type", "application/json")];
    let answers = vec![
        get(s.addr, "/ping").await,
        get(s.addr, "/v1/models").await,
        get(s.addr, "/metrics").await,
        get(s.addr, "/nope").await,
        get(s.addr, "/v1/admin/endpoint").await,
        invoke_json(s.addr, r#""great""#).await,
        invoke_json(s.addr, "{broken").await,
        send(s.addr, Method::POST, "/v1/predict", &json, "[]").await,
        send(
            s.addr,
            Method::POST,
            "/v1/predict",
            &json,
            r#"{"texts": ["ok"]}"#,
        )
        .await,
    ];
    for r in &answers {
        assert!(!r.text().contains(&dir), "{}", r.text());
    }
    let models = answers[1].json();
    assert_eq!(models["variants"][0]["reference"], "local artifact");
    assert_eq!(models["variants"][0]["model_version"], version_of(&m.a));
    // The management API, behind its token, still shows where a model comes from.
    let d = admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({})).await;
    assert!(d.text().contains(&dir), "{}", d.text());
}

#[tokio::test]
async fn v1_predict_answers_a_csv_body_with_415() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let r = send(
        s.addr,
        Method::POST,
        "/v1/predict",
        &[("content-type", "text/csv")],
        "great\n",
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text());
    assert_eq!(r.error_type(), "unsupported_media_type");
    let ok = send(
        s.addr,
        Method::POST,
        "/v1/predict",
        &[("content-type", "application/json; charset=utf-8")],
        r#"{"texts": ["great"]}"#,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
}
