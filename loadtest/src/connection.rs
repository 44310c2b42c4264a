//! One keep-alive HTTP/1.1 connection, owned by one worker.
//!
//! The workers' connections together are the pool: each worker sends its
//! requests one after another on its own connection and reopens it when it
//! breaks, times out or is closed by the server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

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
    /// Status line + headers + body, as received (approximately: the head
    /// is reconstructed from the parsed headers).
    pub wire_bytes: u64,
}

pub(crate) struct Connection {
    target: Arc<Target>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub(crate) fn new(target: Arc<Target>) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    /// Opens the connection now (before a run starts), if it can.
    pub(crate) async fn warm_up(&mut self, timeout: Duration) {
        if let Ok(Ok(sender)) = tokio::time::timeout(timeout, self.connect()).await {
            self.sender = Some(sender);
        }
    }

    /// Sends one request and reads the whole response within `timeout`.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let outcome = tokio::time::timeout(timeout, self.exchange(request))
            .await
            .unwrap_or(Err(Failure::Timeout));
        if outcome.is_err() {
            // The connection is in an unknown state: start afresh.
            self.sender = None;
        }
        outcome
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Answer, Failure> {
        if self.sender.as_ref().is_some_and(|s| s.is_closed()) {
            self.sender = None;
        }
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => self.sender.insert(self.connect().await?),
        };
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

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = TcpStream::connect(self.target.addr).await.map_err(|e| {
            debug!(error = %e, addr = %self.target.addr, "connect failed");
            Failure::Connect
        })?;
        // Small requests must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "connection closed with an error");
            }
        });
        Ok(sender)
    }
}
