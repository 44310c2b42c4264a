//! One keep-alive HTTP/1.1 connection, owned by one worker: the lean client
//! ([`crate::lean`], the default) or hyper's `client::conn::http1`.
//!
//! The workers' connections together are the pool: each worker sends its
//! requests one after another on its own connection and reopens it when it
//! breaks, times out or is closed by the server.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tracing::debug;

use crate::config::ClientKind;
use crate::lean::LeanConnection;
use crate::request::RequestTemplate;
use crate::target::Target;

/// Response header naming the variant that answered.
pub const INVOKED_VARIANT_HEADER: &str = "x-amzn-invoked-production-variant";

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// TCP connect or HTTP handshake failed.
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The connection broke while sending or receiving.
    Io,
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub variant: Option<HeaderValue>,
    /// Status line + headers + body: exactly as received with the lean
    /// client; with hyper's, the head is reconstructed from the parsed
    /// headers (approximate).
    pub wire_bytes: u64,
}

/// The connection's I/O driver, polled by the worker itself (no separate
/// task: one wake-up per response instead of a hop between two tasks).
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

struct Live {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<Driver>,
}

/// hyper's HTTP/1.1 client connection and the request to send next.
struct HyperConnection {
    addr: SocketAddr,
    live: Option<Live>,
    pending: Option<Request<Full<Bytes>>>,
}

enum Client {
    Lean(LeanConnection),
    Hyper(HyperConnection),
}

/// One worker's connection: prepare a request, then send it.
pub(crate) struct Connection {
    client: Client,
    /// A lazily re-armed timeout: it is only reset when it fires, so a
    /// request costs no timer registration (it fires about once per
    /// timeout period and is then moved to the current request's deadline).
    timer: Pin<Box<Sleep>>,
}

impl Connection {
    pub(crate) fn new(target: &Target, kind: ClientKind) -> Self {
        let client = match kind {
            ClientKind::Lean => Client::Lean(LeanConnection::new(target.addr)),
            ClientKind::Hyper => Client::Hyper(HyperConnection {
                addr: target.addr,
                live: None,
                pending: None,
            }),
        };
        Self {
            client,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Opens the connection now (before a run starts), if it can.
    pub(crate) async fn warm_up(&mut self, timeout: Duration) {
        match &mut self.client {
            Client::Lean(c) => {
                let _ = tokio::time::timeout(timeout, c.connect()).await;
            }
            Client::Hyper(c) => {
                if let Ok(Ok(live)) = tokio::time::timeout(timeout, connect(c.addr)).await {
                    c.live = Some(live);
                }
            }
        }
    }

    /// Builds request number `index` for the next [`send`](Self::send);
    /// returns its size on the wire.
    pub(crate) fn prepare(&mut self, template: &RequestTemplate, index: u64) -> u64 {
        match &mut self.client {
            Client::Lean(c) => {
                c.head_request = template.is_head();
                template.write(index, &mut c.request)
            }
            Client::Hyper(c) => {
                let prepared = template.build(index);
                c.pending = Some(prepared.request);
                prepared.wire_bytes
            }
        }
    }

    /// Sends the prepared request and reads the whole response within
    /// `timeout`.
    pub(crate) async fn send(&mut self, timeout: Duration) -> Result<Answer, Failure> {
        let deadline = Instant::now() + timeout;
        let Self { client, timer } = self;
        let outcome = {
            let exchange = async {
                match client {
                    Client::Lean(c) => c.exchange().await,
                    Client::Hyper(c) => match c.pending.take() {
                        Some(request) => exchange(c.addr, &mut c.live, request).await,
                        None => Err(Failure::Io),
                    },
                }
            };
            tokio::pin!(exchange);
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut exchange => break outcome,
                    () = timer.as_mut() => {
                        if Instant::now() >= deadline {
                            break Err(Failure::Timeout);
                        }
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        if outcome.is_err() {
            // The connection is in an unknown state: start afresh.
            match &mut self.client {
                Client::Lean(c) => c.reset(),
                Client::Hyper(c) => c.live = None,
            }
        }
        outcome
    }
}

/// One exchange on `live`, (re)connecting to `addr` first if needed.
async fn exchange(
    addr: SocketAddr,
    live: &mut Option<Live>,
    request: Request<Full<Bytes>>,
) -> Result<Answer, Failure> {
    if let Some(current) = live {
        // Notice a close by the server while the connection was idle.
        if let Some(driver) = &mut current.driver {
            let finished = poll_fn(|cx| Poll::Ready(driver.as_mut().poll(cx).is_ready())).await;
            if finished {
                current.driver = None;
            }
        }
        if current.driver.is_none() || current.sender.is_closed() {
            *live = None;
        }
    }
    let current = match live {
        Some(current) => current,
        None => live.insert(connect(addr).await?),
    };
    let Live { sender, driver } = current;
    let work = request_response(sender, request);
    tokio::pin!(work);
    loop {
        let Some(d) = driver else {
            return work.await;
        };
        tokio::select! {
            biased;
            finished = d.as_mut() => {
                if let Err(e) = finished {
                    debug!(error = %e, "connection closed with an error");
                }
                *driver = None;
            }
            answer = &mut work => return answer,
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<Live, Failure> {
    let stream = TcpStream::connect(addr).await.map_err(|e| {
        debug!(error = %e, %addr, "connect failed");
        Failure::Connect
    })?;
    // Small requests must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let (sender, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| Failure::Connect)?;
    Ok(Live {
        sender,
        driver: Some(Box::pin(driver)),
    })
}

/// Sends `request` and reads the whole response (the driver must be polled
/// alongside).
async fn request_response(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<Answer, Failure> {
    sender.ready().await.map_err(|_| Failure::Io)?;
    let response = sender.send_request(request).await.map_err(|e| {
        debug!(error = %e, "request failed");
        Failure::Io
    })?;
    let status = response.status();
    let head_bytes = 15
        + status.canonical_reason().map_or(0, str::len)
        + response
            .headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
            .sum::<usize>()
        + 2;
    let variant = response.headers().get(INVOKED_VARIANT_HEADER).cloned();
    let mut body = response.into_body();
    let mut body_bytes = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failure::Io)?;
        if let Some(data) = frame.data_ref() {
            body_bytes += data.len();
        }
    }
    Ok(Answer {
        status: status.as_u16(),
        variant,
        wire_bytes: (head_bytes + body_bytes) as u64,
    })
}
