//! The cap on open connections. A connection past the cap is accepted only to be refused
//! gracefully: a 429 with `Retry-After` and `Connection: close`, then a short lingering
//! close so the client reads the answer rather than a reset. Refusals are counted
//! (`sentio_shed_requests_total{reason="connection_limit"}`) and logged at most once a
//! second. Refusing takes file descriptors from the reserve (`limits::RESERVED_FDS`), so
//! refusals in progress are bounded too; past that bound a connection is closed at once.
use crate::middleware::log_budget::LogBudget;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Refusals being written at once, at most.
const MAX_REFUSING: usize = 32;
/// How long a refused connection is read (and discarded) after the answer.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes read (and discarded) from a refused connection, at most.
const LINGER_BYTES: usize = 64 * 1024;

static REFUSAL_LOG: LogBudget = LogBudget::new(1);

/// The cap and its slots.
pub struct Admission {
    slots: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    cap: usize,
    refusal: Arc<[u8]>,
}

impl Admission {
    pub fn new(cap: usize, retry_after_secs: u64) -> Self {
        let body = serde_json::json!({
            "error": format!("overloaded: the server has {cap} connections open, its limit"),
            "type": "overloaded",
        })
        .to_string();
        let refusal = format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
             retry-after: {retry_after_secs}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        Admission {
            slots: Arc::new(Semaphore::new(cap.max(1))),
            refusing: Arc::new(Semaphore::new(MAX_REFUSING)),
            cap,
            refusal: refusal.into_bytes().into(),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.cap.max(1) - self.slots.available_permits()
    }

    /// A slot for a new connection (held until the connection closes), or `Err`: then the
    /// connection has been handed to a refusal (or closed, when too many are refused).
    pub fn admit(&self, stream: TcpStream) -> Result<(TcpStream, OwnedSemaphorePermit), ()> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok((stream, slot));
        }
        crate::telemetry::record_shed("connection_limit");
        if let Some(left_out) = REFUSAL_LOG.take() {
            tracing::warn!(
                cap = self.cap,
                refused_since_last_line = left_out + 1,
                "connection limit reached: refusing new connections (answered 429)"
            );
        }
        if let Ok(permit) = self.refusing.clone().try_acquire_owned() {
            let refusal = self.refusal.clone();
            tokio::spawn(async move {
                refuse(stream, &refusal).await;
                drop(permit);
            });
        }
        Err(())
    }
}

/// Writes the answer, stops writing, and reads what the client still sends for a moment,
/// so the answer is not lost to a reset.
async fn refuse(mut stream: TcpStream, answer: &[u8]) {
    if stream.write_all(answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut read = 0;
    let drain = async {
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
