//! The access log: one `tracing` event per request with method, path, status, latency and
//! request id (at INFO for errors, DEBUG for successes so a busy endpoint's log stays
//! readable; `RUST_LOG=serve::access=debug` shows them all).
use super::BoxFuture;
use crate::http::{headers, Resp};
use hyper::Request;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

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
            if status >= 400 {
                tracing::info!(target: "serve::access", %method, path, status, micros, request_id, "request");
            } else {
                tracing::debug!(target: "serve::access", %method, path, status, micros, request_id, "request");
            }
            Ok(resp)
        })
    }
}
