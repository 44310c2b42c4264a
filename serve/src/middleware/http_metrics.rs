//! Counts every HTTP response by route and status class and times it.
use super::BoxFuture;
use crate::http::Resp;
use crate::telemetry::{HTTP_DURATION, HTTP_REQUESTS};
use hyper::Request;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

#[derive(Clone, Copy, Default)]
pub struct HttpMetricsLayer;

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;
    fn layer(&self, inner: S) -> HttpMetrics<S> {
        HttpMetrics { inner }
    }
}

#[derive(Clone)]
pub struct HttpMetrics<S> {
    inner: S,
}

/// A bounded route label (never the raw path).
fn route(path: &str) -> &'static str {
    match path {
        "/ping" => "ping",
        "/invocations" => "invocations",
        "/metrics" => "metrics",
        p if p.starts_with("/v1/admin") => "admin",
        p if p.starts_with("/v1/") => "v1",
        _ => "other",
    }
}

fn class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl<S, B> Service<Request<B>> for HttpMetrics<S>
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
        let route = route(req.uri().path());
        let start = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let status = class(resp.status().as_u16());
            metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status).increment(1);
            metrics::histogram!(HTTP_DURATION, "route" => route)
                .record(start.elapsed().as_secs_f64());
            Ok(resp)
        })
    }
}
