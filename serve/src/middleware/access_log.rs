//! The access log: one `tracing` event per request with method, path, status, latency and
//! request id, at DEBUG for successes and at INFO for errors, at most
//! [`ERROR_LINES_PER_SECOND`] a second (the rest at DEBUG; the next INFO line says how many
//! were left out) so an attack or an overload cannot flood the log. 429s are always at
//! DEBUG: the shedding layers log a summary once a second. `SENTIO_LOG=serve::access=debug`
//! shows every request.
use super::log_budget::LogBudget;
use super::BoxFuture;
use crate::http::{headers, Resp};
use hyper::Request;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

/// Error lines a second at INFO, at most.
pub const ERROR_LINES_PER_SECOND: u64 = 20;
static ERROR_LOG: LogBudget = LogBudget::new(ERROR_LINES_PER_SECOND);

#[derive(Clone, Copy, Default)]
pub struct AccessLogLayer;

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;
    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog { inner }
    }
}

#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Resp, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let request_id = req
            .headers()
            .get(headers::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let status = resp.status().as_u16();
            let micros = start.elapsed().as_micros() as u64;
            let at_info = status >= 400 && status != 429;
            if let Some(left_out) = at_info.then(|| ERROR_LOG.take()).flatten() {
                tracing::info!(target: "serve::access", %method, path, status, micros, request_id, left_out, "request");
            } else {
                tracing::debug!(target: "serve::access", %method, path, status, micros, request_id, "request");
            }
            Ok(resp)
        })
    }
}
