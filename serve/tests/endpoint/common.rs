//! Test helpers: real model artifacts made without training, a server on 127.0.0.1:0,
//! and a one-connection-per-request HTTP client.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use serve::{ServeConfig, ServeError, VariantSource, VariantSpec};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-token";

pub struct Models {
    pub a: PathBuf,
    pub b: PathBuf,
    _dir: tempfile::TempDir,
}

/// Two real fastText artifacts with different seeds (two model versions).
pub fn models() -> &'static Models {
    static M: OnceLock<Models> = OnceLock::new();
    M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<String> = (0..40)
            .flat_map(|i| {
                [
                    format!("I love this dress, the fabric is lovely {i}"),
                    format!("Terrible fit and the zipper broke after {i} days"),
                    format!("It is okay, nothing special about the colour {i}"),
                ]
            })
            .collect();
        let make = |name: &str, seed: i64| {
            tch::manual_seed(seed);
            let tk = models::TextTokenizer::train_wordpiece(texts.iter(), 500, 1).unwrap();
            let m = models::Model::new(
                models::ModelConfig::FastText(models::FastTextConfig {
                    vocab_size: tk.vocab_size(),
                    bigram_buckets: 1000,
                    dim: 16,
                    dropout: 0.0,
                }),
                vec!["negative".into(), "neutral".into(), "positive".into()],
                64,
                tk,
                tch::Device::Cpu,
            )
            .unwrap();
            let path = dir.path().join(name);
            let mut w = models::ArtifactWriter::new(&path).unwrap();
            m.save_into(&mut w).unwrap();
            w.finish().unwrap();
            path
        };
        Models {
            a: make("a", 1),
            b: make("b", 2),
            _dir: dir,
        }
    })
}

pub fn version_of(path: &std::path::Path) -> String {
    models::Artifact::open(path).unwrap().version()
}

pub fn local(name: &str, path: &std::path::Path, weight: f64) -> VariantSpec {
    VariantSpec {
        name: name.into(),
        source: VariantSource::Model(path.display().to_string()),
        weight,
    }
}

/// A configuration for tests: CPU, management enabled with `TOKEN`.
pub fn config(variants: Vec<VariantSpec>) -> ServeConfig {
    let mut c = ServeConfig::new(variants);
    c.admin_token = Some(secrecy::SecretString::from(TOKEN));
    c.limits.drain_timeout = Duration::from_secs(10);
    // Tests stop their servers at once (the grace period is tested on its own).
    c.limits.shutdown_grace = Duration::ZERO;
    c
}

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Starts and waits until /ping answers 200.
    pub async fn start(config: ServeConfig) -> TestServer {
        let s = TestServer::spawn(config).await;
        for _ in 0..600 {
            if get(s.addr, "/ping").await.status == StatusCode::OK {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready");
    }

    /// Starts without waiting for readiness.
    pub async fn spawn(config: ServeConfig) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signals shutdown without waiting (the server goes on through its grace period).
    pub fn signal(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        self.stop.take().map(|s| s.send(()));
        self.task.take().unwrap().await.unwrap()
    }

    /// Waits for `run` to return on its own (e.g. a failed start-up).
    pub async fn join(mut self) -> Result<(), ServeError> {
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the error body shape and returns its type.
    pub fn error_type(&self) -> String {
        let v = self.json();
        assert!(v["error"].is_string(), "{v}");
        v["type"].as_str().unwrap().to_string()
    }
}

pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    try_send(addr, method, path, headers, body)
        .await
        .expect("HTTP exchange")
}

pub async fn try_send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body.into()))?)
        .await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Method::GET, path, &[], Bytes::new()).await
}

pub async fn invoke(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> Reply {
    send(
        addr,
        Method::POST,
        "/invocations",
        headers,
        body.to_string(),
    )
    .await
}

pub async fn invoke_json(addr: SocketAddr, body: &str) -> Reply {
    invoke(addr, &[("content-type", "application/json")], body).await
}

pub async fn admin(addr: SocketAddr, method: Method, path: &str, body: serde_json::Value) -> Reply {
    let auth = format!("Bearer {TOKEN}");
    send(
        addr,
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

/// A sample value of a Prometheus series whose line contains every fragment.
pub fn metric(text: &str, name: &str, fragments: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && fragments.iter().all(|f| l.contains(f)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Waits until `done` holds, checking every 5 ms: a state to reach, not a time bound (it
/// gives up after 10 s only so that a broken mechanism fails instead of hanging).
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..2000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never reached: {what}");
}

/// A stand-in worker (`sentio serve --worker`) on 127.0.0.1:0: it answers `/ping` and
/// `/v1/models`, and holds every `POST /invocations` until [`HoldingWorker::release`];
/// `held` tells how many it holds, so a test knows requests are in flight by counting,
/// not by sleeping.
pub struct HoldingWorker {
    pub url: String,
    held: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    release: tokio::sync::watch::Sender<bool>,
}

impl HoldingWorker {
    pub async fn start() -> HoldingWorker {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let (h, r) = (held.clone(), released.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (h, r) = (h.clone(), r.clone());
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (h, mut r) = (h.clone(), r.clone());
                    async move {
                        let body = match req.uri().path() {
                            "/v1/models" => serde_json::json!({"variants": [
                                {"model_version": "held-1", "labels": ["negative", "positive"]}
                            ]})
                            .to_string(),
                            "/invocations" => {
                                h.fetch_add(1, Ordering::SeqCst);
                                let _ = r.wait_for(|released| *released).await;
                                h.fetch_sub(1, Ordering::SeqCst);
                                r#"{"label":"positive","probabilities":{"negative":0.1,"positive":0.9}}"#.to_string()
                            }
                            _ => String::new(),
                        };
                        let resp = hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc),
                );
            }
        });
        HoldingWorker { url, held, release }
    }

    /// Waits (bounded) until the worker holds `n` requests.
    pub async fn wait_holding(&self, n: usize) {
        let held = || self.held.load(std::sync::atomic::Ordering::SeqCst);
        until(&format!("the worker holds {n} requests"), async || {
            held() >= n
        })
        .await;
    }

    /// Answers every held request, and later ones at once.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }

    pub fn variant(&self, name: &str) -> VariantSpec {
        VariantSpec {
            name: name.into(),
            source: VariantSource::Upstream(self.url.clone()),
            weight: 1.0,
        }
    }
}
