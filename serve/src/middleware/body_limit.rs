//! Request body limit: a declared `Content-Length` over the limit is refused with 413 before
//! reading; otherwise the body is wrapped so reading past the limit fails (→ 413 too).
use super::BoxFuture;
use crate::error::ServeError;
use crate::http::{error_response, Resp};
use http_body_util::Limited;
use hyper::{header, Request};
use std::convert::Infallible;
use std::task::{Context, Poll};
use tower::{Layer, Service};

#[derive(Clone, Copy)]
pub struct BodyLimitLayer(pub usize);

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;
    fn layer(&self, inner: S) -> BodyLimit<S> {
        BodyLimit {
            inner,
            limit: self.0,
        }
    }
}

#[derive(Clone)]
pub struct BodyLimit<S> {
    inner: S,
    limit: usize,
}

impl<S, B> Service<Request<B>> for BodyLimit<S>
where
    S: Service<Request<Limited<B>>, Response = Resp, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limit as u64) {
            tracing::warn!(
                content_length = declared,
                limit = self.limit,
                "request body too large"
            );
            let resp = error_response(&ServeError::TooLarge { limit: self.limit }, 0);
            return Box::pin(async move { Ok(resp) });
        }
        let limit = self.limit;
        let fut = self.inner.call(req.map(|b| Limited::new(b, limit)));
        Box::pin(fut)
    }
}
