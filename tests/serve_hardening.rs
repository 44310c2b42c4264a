//! `sentio serve` as users run it: SIGTERM under keep-alive load loses no request (the
//! real binary, the real signal), and limits or artifacts that cannot work are clear
//! errors with exit status 1 (never a panic).
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A small real artifact (fastText, untrained weights: predictions do not matter here).
fn artifact(dir: &Path) -> PathBuf {
    let texts = ["I love this dress", "Terrible fit", "It is okay"];
    let tk = models::TextTokenizer::train_wordpiece(texts.iter(), 200, 1).unwrap();
    let model = models::Model::new(
        models::ModelConfig::FastText(models::FastTextConfig {
            vocab_size: tk.vocab_size(),
            bigram_buckets: 100,
            dim: 8,
            dropout: 0.0,
        }),
        vec!["negative".into(), "positive".into()],
        32,
        tk,
        tch::Device::Cpu,
    )
    .unwrap();
    let path = dir.join("model");
    let mut w = models::ArtifactWriter::new(&path).unwrap();
    model.save_into(&mut w).unwrap();
    w.finish().unwrap();
    path
}

fn sentio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentio"))
        .args(args)
        .env("SENTIO_LOG", "warn")
        .env_remove("SENTIO_ADMIN_TOKEN")
        .output()
        .expect("run sentio")
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn impossible_limits_and_crafted_artifacts_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let model = artifact(tmp.path());
    let m = model.to_str().unwrap();
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--model", m, "--port", "0", "--device", "cpu"];
        args.extend_from_slice(extra);
        sentio(&args)
    };
    fails_with(
        &serve(&["--max-instances", "100", "--queue-capacity", "50"]),
        "--queue-capacity (50)",
    );
    fails_with(
        &serve(&["--max-buffered-body-bytes", "10"]),
        "below the body limit",
    );
    // A config.json claiming 10^15 bigram rows, the manifest re-hashed to match.
    let cpath = model.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cpath).unwrap()).unwrap();
    config["model"]["bigram_buckets"] = 1_000_000_000_000_000u64.into();
    std::fs::write(&cpath, serde_json::to_vec(&config).unwrap()).unwrap();
    let mpath = model.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    manifest["files"]["config.json"] = models::artifact::file_digest(&cpath).unwrap().into();
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    fails_with(
        &sentio(&["predict", "--model", m, "hello"]),
        "bigram_buckets",
    );
    fails_with(&serve(&[]), "bigram_buckets");
}

/// The server's address, from its JSON log line "listening; loading models".
fn listening_addr(child: &mut Child) -> SocketAddr {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let (false, Some(addr)) = (sent, v["fields"]["addr"].as_str()) {
                sent = tx.send(addr.parse::<SocketAddr>().unwrap()).is_ok();
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the server logs its address")
}

/// What one keep-alive client saw.
#[derive(Default)]
struct Seen {
    answered: AtomicUsize,
    not_200: AtomicUsize,
    /// Sent and never answered (the connection ended first).
    lost: AtomicUsize,
    /// Answered with `Connection: close` (the server is shutting down).
    told_to_close: AtomicUsize,
    /// Clients whose connection was refused before they sent anything.
    refused: AtomicUsize,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

/// `/ping` on a fresh connection, as a load balancer's health check: `None` when refused.
async fn ping(addr: SocketAddr) -> Option<StatusCode> {
    let mut s = connect(addr).await?;
    let r = s
        .send_request(request(addr, "GET", "/ping", ""))
        .await
        .ok()?;
    Some(r.status())
}

/// One keep-alive client behind a load balancer: requests on one connection; once told to
/// close, it asks `/ping` and stops when the server is out (503 or refused), as the load
/// balancer would stop sending it traffic.
async fn client(addr: SocketAddr, seen: Arc<Seen>) {
    let mut conn: Option<Sender> = None;
    loop {
        let sender = match conn.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Some(s) => conn.insert(s),
                None => {
                    // Refused before anything was sent.
                    seen.refused.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            },
        };
        if sender.ready().await.is_err() {
            conn = None; // closed while idle, before this request was written
            continue;
        }
        match sender
            .send_request(request(addr, "POST", "/invocations", r#""so soft""#))
            .await
        {
            Ok(resp) => {
                let close = resp
                    .headers()
                    .get("connection")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                let ok = resp.status() == StatusCode::OK;
                let body = resp.into_body().collect().await;
                if body.is_err() {
                    seen.lost.fetch_add(1, Ordering::SeqCst);
                    conn = None;
                    continue;
                }
                seen.answered.fetch_add(1, Ordering::SeqCst);
                if !ok {
                    seen.not_200.fetch_add(1, Ordering::SeqCst);
                }
                if close {
                    seen.told_to_close.fetch_add(1, Ordering::SeqCst);
                    conn = None;
                    if ping(addr).await != Some(StatusCode::OK) {
                        return;
                    }
                }
            }
            Err(e) if e.is_canceled() => conn = None, // never written
            Err(_) => {
                seen.lost.fetch_add(1, Ordering::SeqCst);
                conn = None;
            }
        }
    }
}

#[test]
fn sigterm_under_keep_alive_load_loses_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let model = artifact(tmp.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentio"))
        .args(["serve", "--model", model.to_str().unwrap()])
        .args(["--host", "127.0.0.1", "--port", "0", "--device", "cpu"])
        .env("SENTIO_LOG", "info")
        .env("SENTIO_LOG_JSON", "true")
        .env_remove("SENTIO_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sentio serve");
    let addr = listening_addr(&mut child);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seen = Arc::new(Seen::default());
    rt.block_on(async {
        let mut ready = false;
        for _ in 0..1200 {
            if ping(addr).await == Some(StatusCode::OK) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "the server did not become ready");
        let clients: Vec<_> = (0..16)
            .map(|_| tokio::spawn(client(addr, seen.clone())))
            .collect();
        // Load first (bounded), then the signal users send.
        for _ in 0..2000 {
            if seen.answered.load(Ordering::SeqCst) >= 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        for c in clients {
            tokio::time::timeout(Duration::from_secs(120), c)
                .await
                .expect("every client stops")
                .unwrap();
        }
    });
    let mut status = None;
    for _ in 0..1200 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the server did not exit after SIGTERM")
    });
    assert!(status.success(), "{status}");
    let answered = seen.answered.load(Ordering::SeqCst);
    assert!(answered >= 200, "{answered}");
    assert_eq!(seen.lost.load(Ordering::SeqCst), 0, "requests lost");
    assert_eq!(seen.not_200.load(Ordering::SeqCst), 0);
    // Every client learned of the shutdown from an answer (or, had it not sent anything
    // through the whole grace period, from a refused connection), never from a broken one.
    let ended = seen.told_to_close.load(Ordering::SeqCst) + seen.refused.load(Ordering::SeqCst);
    assert_eq!(ended, 16);
}
