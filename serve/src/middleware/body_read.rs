//! Reads each request body in full before the request goes on, so nothing behind this
//! layer (the concurrency limit above all) waits on a client: a slow body holds a
//! connection, never an inference slot.
//!
//! - a declared `Content-Length` over the limit: 413 before reading; a body that grows
//!   past it: 413;
//! - a body not complete within the body read timeout, or arriving slower on average than
//!   the minimum rate once its grace has passed: 408 (the client's fault, not a 5xx);
//! - the bytes of all bodies being read are bounded together: a body whose next bytes do
//!   not fit is answered 429 (shed, reason `body_buffer`).
//!
//! Every refusal here closes the connection (the rest of the body is never read).
use super::log_budget::LogBudget;
use super::BoxFuture;
use crate::error::ServeError;
use crate::http::{error_response, Resp};
use crate::limits::Limits;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH};
use hyper::Request;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::{Layer, Service};

/// Lines a second about bodies refused for the shared buffer.
static BUFFER_LOG: LogBudget = LogBudget::new(1);

#[derive(Clone, Copy, Debug)]
struct Rules {
    max_bytes: usize,
    timeout: Duration,
    min_rate: u64,
    grace: Duration,
    retry_after_secs: u64,
}

#[derive(Clone)]
pub struct BodyReadLayer {
    rules: Rules,
    /// One permit per byte buffered, over all requests.
    buffer: Arc<Semaphore>,
}

impl BodyReadLayer {
    pub fn new(limits: &Limits) -> Self {
        BodyReadLayer {
            rules: Rules {
                max_bytes: limits.max_body_bytes,
                timeout: limits.body_read_timeout,
                min_rate: limits.min_body_rate,
                grace: limits.body_rate_grace,
                retry_after_secs: limits.retry_after_secs,
            },
            buffer: Arc::new(Semaphore::new(
                limits.max_buffered_body_bytes.min(Semaphore::MAX_PERMITS),
            )),
        }
    }
}

impl<S> Layer<S> for BodyReadLayer {
    type Service = BodyRead<S>;
    fn layer(&self, inner: S) -> BodyRead<S> {
        BodyRead {
            inner,
            rules: self.rules,
            buffer: self.buffer.clone(),
        }
    }
}

#[derive(Clone)]
pub struct BodyRead<S> {
    inner: S,
    rules: Rules,
    buffer: Arc<Semaphore>,
}

impl<S, B> Service<Request<B>> for BodyRead<S>
where
    S: Service<Request<Full<Bytes>>, Response = Resp, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::fmt::Display,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let rules = self.rules;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > rules.max_bytes as u64) {
            tracing::debug!(
                content_length = declared,
                limit = rules.max_bytes,
                "request body too large"
            );
            let resp = refusal(&ServeError::TooLarge {
                limit: rules.max_bytes,
            });
            return Box::pin(async move { Ok(resp) });
        }
        // The ready service goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let buffer = self.buffer.clone();
        let (parts, body) = req.into_parts();
        Box::pin(async move {
            match read(body, rules, &buffer).await {
                Ok((bytes, held)) => {
                    let resp = inner
                        .call(Request::from_parts(parts, Full::new(bytes)))
                        .await;
                    // The body's bytes count until the request is answered.
                    drop(held);
                    resp
                }
                Err(e) => Ok(if let ServeError::Overloaded(_) = e {
                    let mut r = error_response(&e, rules.retry_after_secs);
                    r.headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                    r
                } else {
                    refusal(&e)
                }),
            }
        })
    }
}

/// An error answer that also closes the connection (the body was not read to its end).
fn refusal(e: &ServeError) -> Resp {
    let mut r = error_response(e, 0);
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The whole body, within the rules, and the buffer permits its bytes hold.
async fn read<B>(
    mut body: B,
    rules: Rules,
    buffer: &Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ServeError>
where
    B: Body + Unpin,
    B::Error: std::fmt::Display,
{
    if body.is_end_stream() {
        return Ok((Bytes::new(), None));
    }
    let start = Instant::now();
    let hard = start + rules.timeout;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let (deadline, by_rate) = deadline(start, hard, total, rules);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) if by_rate => {
                return Err(ServeError::ClientTimeout(format!(
                    "the request body arrived slower than {} bytes/s ({total} bytes in {:.1} s)",
                    rules.min_rate,
                    start.elapsed().as_secs_f64()
                )))
            }
            Err(_) => {
                return Err(ServeError::ClientTimeout(format!(
                    "the request body did not arrive within {:?} ({total} bytes read)",
                    rules.timeout
                )))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ServeError::Malformed(format!(
                    "cannot read the request body: {e}"
                )))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers
        };
        let n = data.remaining();
        total += n;
        if total > rules.max_bytes {
            return Err(ServeError::TooLarge {
                limit: rules.max_bytes,
            });
        }
        let permit = u32::try_from(n)
            .ok()
            .and_then(|n| buffer.clone().try_acquire_many_owned(n).ok());
        let Some(permit) = permit else {
            crate::telemetry::record_shed("body_buffer");
            if let Some(left_out) = BUFFER_LOG.take() {
                tracing::warn!(
                    left_out,
                    "shedding load: the request body buffer is full (answered 429)"
                );
            }
            return Err(ServeError::Overloaded(
                "too many request bytes are being read at once".into(),
            ));
        };
        match &mut held {
            Some(h) => h.merge(permit),
            None => held = Some(permit),
        }
        chunks.push(data.copy_to_bytes(n));
    }
    let bytes = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(total);
            for c in chunks {
                all.extend_from_slice(&c);
            }
            all.freeze()
        }
    };
    Ok((bytes, held))
}

/// When the next bytes must have arrived, and whether that is the rate's deadline (rather
/// than the overall timeout's): after the grace, `total` bytes buy `total / rate` seconds.
fn deadline(start: Instant, hard: Instant, total: usize, rules: Rules) -> (Instant, bool) {
    if rules.min_rate == 0 {
        return (hard, false);
    }
    let earned = Duration::from_secs_f64(total as f64 / rules.min_rate as f64);
    let by_rate = start + rules.grace + earned;
    if by_rate < hard {
        (by_rate, true)
    } else {
        (hard, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_count_against_the_shared_buffer_until_answered() {
        let rules = Rules {
            max_bytes: 100,
            timeout: Duration::from_secs(30),
            min_rate: 0,
            grace: Duration::ZERO,
            retry_after_secs: 1,
        };
        let buffer = Arc::new(Semaphore::new(8));
        let body = || Full::new(Bytes::from_static(b"hello"));
        let (bytes, held) = read(body(), rules, &buffer).await.unwrap();
        assert_eq!((&bytes[..], buffer.available_permits()), (&b"hello"[..], 3));
        let e = read(body(), rules, &buffer).await.unwrap_err();
        assert!(matches!(e, ServeError::Overloaded(_)), "{e}");
        drop(held);
        assert!(read(body(), rules, &buffer).await.is_ok());
    }
}
