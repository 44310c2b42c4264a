//! Concurrency limit with load shedding: a request that finds every permit taken is
//! answered 429 + Retry-After at once (never queued, never a 503: shedding is not an
//! outage). Health and metrics paths bypass the limit so probes still answer under load.
//! Shed requests are counted (`sentio_shed_requests_total{reason="concurrency_limit"}`) and
//! logged at most once a second, with how many were shed since the last line.
use super::log_budget::LogBudget;
use super::BoxFuture;
use crate::error::ServeError;
use crate::http::{error_response, Resp};
use hyper::Request;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

const EXEMPT: &[&str] = &["/ping", "/metrics"];

static SHED_LOG: LogBudget = LogBudget::new(1);

#[derive(Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    retry_after_secs: u64,
}

impl ShedLayer {
    pub fn new(max_concurrency: usize, retry_after_secs: u64) -> Self {
        ShedLayer {
            permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
            retry_after_secs,
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: self.permits.clone(),
            retry_after_secs: self.retry_after_secs,
        }
    }
}

#[derive(Clone)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
    retry_after_secs: u64,
}

impl<S, B> Service<Request<B>> for Shed<S>
where
    S: Service<Request<B>, Response = Resp, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if EXEMPT.contains(&req.uri().path()) {
            let fut = self.inner.call(req);
            return Box::pin(fut);
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let fut = self.inner.call(req);
                Box::pin(async move {
                    let r = fut.await;
                    drop(permit);
                    r
                })
            }
            Err(_) => {
                crate::telemetry::record_shed("concurrency_limit");
                if let Some(left_out) = SHED_LOG.take() {
                    tracing::warn!(
                        shed_since_last_line = left_out + 1,
                        "shedding load: every request slot is taken (answered 429)"
                    );
                }
                let e = ServeError::Overloaded("too many requests in flight".into());
                let resp = error_response(&e, self.retry_after_secs);
                Box::pin(async move { Ok(resp) })
            }
        }
    }
}
