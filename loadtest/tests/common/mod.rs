//! A tiny hyper test server on 127.0.0.1:0 whose behaviour each test picks.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What a handler sees of a request (the body already read).
pub struct Seen {
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// Starts a server answering with `handler`; it runs until the test's
/// runtime shuts down.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Seen) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let seen = Seen {
                            headers: parts.headers,
                            body,
                        };
                        Ok::<_, Infallible>(handler(seen).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A 200 response with a small JSON body.
pub fn ok() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"{\"label\":\"positive\"}")))
}

/// A server that answers 200 at once.
pub async fn fast_server() -> SocketAddr {
    serve(|_| async { ok() }).await
}

pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/invocations")
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A jsonlines payload whose record `i` is the text `req-<i>`, for `n`
/// records: with round-robin order, request `i` of a phase carries
/// `req-<i>` (for `i < n`), so a server can tell which request it got.
pub fn indexed_payload(n: u64) -> tempfile::NamedTempFile {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("{{\"text\":\"req-{i}\"}}\n"));
    }
    let file = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

/// Points `config` at an [`indexed_payload`] file.
pub fn use_indexed_payload(config: &mut loadtest::Config, file: &tempfile::NamedTempFile) {
    config.payload.source = loadtest::PayloadSource::JsonLines {
        path: file.path().to_path_buf(),
        field: "text".into(),
    };
}

/// The request index carried by a body built from an [`indexed_payload`].
pub fn index_of(body: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let text = v["instances"][0].as_str().unwrap();
    text.strip_prefix("req-").unwrap().parse().unwrap()
}
