//! One client connection below HTTP: the header read and idle timeouts, kept by the
//! connection's I/O ([`TimedIo`]) from what its service reports ([`Track`]):
//!
//! - the first request's headers must arrive within the header read timeout of the
//!   connection's opening (slowloris);
//! - between requests, a connection with no request in progress and no byte either way
//!   for the idle timeout is closed quietly; once the first byte of a next request has
//!   arrived, its headers get the header read timeout;
//! - while a request is in progress nothing here times out (the body has its own limits in
//!   `middleware::body_read`, the handling the request timeout).
use crate::limits::Limits;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What a connection's service tells its I/O: requests in progress, and a counter that
/// changes whenever one starts or ends.
#[derive(Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    changes: AtomicU64,
}

/// A request in progress; ends when dropped (answered or cancelled).
struct InFlight(Arc<Activity>);

impl Activity {
    fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changes.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changes.fetch_add(1, Ordering::AcqRel);
    }
}

/// The connection's service: the front service, reporting each request to [`Activity`].
#[derive(Clone)]
pub struct Track<S> {
    pub inner: S,
    pub activity: Arc<Activity>,
}

impl<S, R> tower::Service<R> for Track<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = crate::http::BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let in_flight = self.activity.start();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            drop(in_flight);
            r
        })
    }
}

/// The two timeouts kept below HTTP.
#[derive(Debug, Clone, Copy)]
pub struct IoTimeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl From<&Limits> for IoTimeouts {
    fn from(l: &Limits) -> Self {
        IoTimeouts {
            header_read: l.header_read_timeout,
            idle: l.idle_timeout,
        }
    }
}

/// What a connection waits for when no request is in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The first request's headers, since the connection opened.
    FirstRequest(Instant),
    /// A next request, idle since then.
    Idle(Instant),
    /// The rest of a next request's headers, whose first byte came then.
    Headers(Instant),
}

/// A stream with the header read and idle timeouts. A timed-out header read is an error
/// (the connection closes without an answer); an idle timeout reads as end of stream (the
/// connection closes quietly).
pub struct TimedIo<T> {
    io: T,
    activity: Arc<Activity>,
    timeouts: IoTimeouts,
    seen_changes: u64,
    waiting: Waiting,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

impl<T> TimedIo<T> {
    pub fn new(io: T, activity: Arc<Activity>, timeouts: IoTimeouts) -> Self {
        let now = Instant::now();
        TimedIo {
            io,
            seen_changes: activity.changes.load(Ordering::Acquire),
            activity,
            timeouts,
            waiting: Waiting::FirstRequest(now),
            sleep: Box::pin(tokio::time::sleep_until(now + timeouts.header_read)),
            armed: None,
        }
    }

    /// Takes note of requests that started or ended since the last look: a new wait
    /// begins.
    fn refresh(&mut self) {
        let changes = self.activity.changes.load(Ordering::Acquire);
        if changes != self.seen_changes {
            self.seen_changes = changes;
            self.waiting = Waiting::Idle(Instant::now());
        }
    }

    /// When the connection is closed if nothing happens, `None` while a request is in
    /// progress.
    fn deadline(&self) -> Option<Instant> {
        if self.activity.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(match self.waiting {
            Waiting::FirstRequest(t) | Waiting::Headers(t) => t + self.timeouts.header_read,
            Waiting::Idle(t) => t + self.timeouts.idle,
        })
    }

    /// Bytes written while no request is in progress restart the idle time.
    fn wrote(&mut self, r: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(1..)) = r {
            self.refresh();
            if let Waiting::Idle(_) = self.waiting {
                self.waiting = Waiting::Idle(Instant::now());
            }
        }
    }

    fn expired(&self) -> Poll<io::Result<()>> {
        match self.waiting {
            Waiting::Idle(_) => {
                tracing::debug!("closing an idle connection");
                Poll::Ready(Ok(()))
            }
            Waiting::FirstRequest(_) | Waiting::Headers(_) => {
                tracing::debug!(
                    "closing a connection whose request headers did not arrive in time"
                );
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request headers did not arrive within the header read timeout",
                )))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.refresh();
                    if let Waiting::Idle(_) = this.waiting {
                        if this.activity.in_flight.load(Ordering::Acquire) == 0 {
                            this.waiting = Waiting::Headers(Instant::now());
                        }
                    }
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        this.refresh();
        let Some(deadline) = this.deadline() else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            return this.expired();
        }
        if this.armed != Some(deadline) {
            this.sleep.as_mut().reset(deadline);
            this.armed = Some(deadline);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            return this.expired();
        }
        Poll::Pending
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn timeouts() -> IoTimeouts {
        IoTimeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(75),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_request_that_never_comes_times_out_at_the_header_timeout() {
        let (client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::default());
        let mut io = TimedIo::new(server, activity, timeouts());
        let mut buf = [0u8; 8];
        let t = Instant::now();
        let e = io.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(t.elapsed(), Duration::from_secs(10));
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_closes_quietly_and_a_request_in_progress_never_times_out() {
        let (mut client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::default());
        let mut io = TimedIo::new(server, activity.clone(), timeouts());
        client.write_all(b"GET").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(io.read(&mut buf).await.unwrap(), 3);
        // A request is in progress: an hour passes without a timeout.
        let req = activity.start();
        let pending = tokio::time::timeout(Duration::from_secs(3600), io.read(&mut buf)).await;
        assert!(pending.is_err(), "no timeout while busy");
        drop(req);
        // Then idle: closed (end of stream) after the idle timeout.
        let t = Instant::now();
        assert_eq!(io.read(&mut buf).await.unwrap(), 0);
        assert_eq!(t.elapsed(), Duration::from_secs(75));
    }

    #[tokio::test(start_paused = true)]
    async fn a_next_request_gets_the_header_timeout_from_its_first_byte() {
        let (mut client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::default());
        let mut io = TimedIo::new(server, activity.clone(), timeouts());
        drop(activity.start());
        let mut buf = [0u8; 8];
        tokio::time::sleep(Duration::from_secs(60)).await;
        client.write_all(b"G").await.unwrap();
        assert_eq!(io.read(&mut buf).await.unwrap(), 1);
        let t = Instant::now();
        let e = io.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(t.elapsed(), Duration::from_secs(10));
    }
}
