//! hyper's low-level HTTP/1.1 client (`hyper::client::conn::http1`) as a
//! cross-check of the lean client; it costs more CPU per request (its
//! dispatcher, channels, header maps and per-request allocations).

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use super::outcome::{Answer, Failure, INVOKED_VARIANT_HEADER};
use crate::request::RequestTemplate;

/// The connection's I/O driver, polled by the worker itself (no separate
/// task: one wake-up per response instead of a hop between two tasks).
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

struct Live {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<Driver>,
}

/// hyper's HTTP/1.1 client connection and the request to send next.
pub(crate) struct HyperConnection {
    addr: SocketAddr,
    live: Option<Live>,
    pending: Option<Request<Full<Bytes>>>,
}

impl HyperConnection {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            live: None,
            pending: None,
        }
    }

    /// Opens the connection (and does the HTTP handshake).
    pub(crate) async fn connect(&mut self) -> Result<(), Failure> {
        self.live = Some(connect(self.addr).await?);
        Ok(())
    }

    /// Forgets the connection (after an error or a timeout).
    pub(crate) fn reset(&mut self) {
        self.live = None;
    }

    /// Builds request number `index`; returns its size on the wire.
    pub(crate) fn prepare(&mut self, template: &RequestTemplate, index: u64) -> u64 {
        let prepared = template.build(index);
        self.pending = Some(prepared.request);
        prepared.wire_bytes
    }

    /// Sends the prepared request and reads the whole response,
    /// (re)connecting first if needed.
    pub(crate) async fn exchange(&mut self) -> Result<Answer, Failure> {
        let Some(request) = self.pending.take() else {
            return Err(Failure::Io);
        };
        exchange(self.addr, &mut self.live, request).await
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
