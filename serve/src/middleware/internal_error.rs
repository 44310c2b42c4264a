//! What a client sees of a fault of the server: a panic below this layer becomes a 500,
//! and every 500 body is replaced by `{"error": "internal error", "type": "internal",
//! "request_id": …}`. The original message (which may hold paths, a panic message or a
//! libtorch backtrace) goes to the log at ERROR with the same request id, never to the
//! client.
use super::BoxFuture;
use crate::http::{headers, json_response, Resp};
use hyper::{Request, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

#[derive(Clone, Copy, Default)]
pub struct InternalErrorLayer;

impl<S> Layer<S> for InternalErrorLayer {
    type Service = InternalError<S>;
    fn layer(&self, inner: S) -> InternalError<S> {
        InternalError { inner }
    }
}

#[derive(Clone)]
pub struct InternalError<S> {
    inner: S,
}

/// The response of every internal error.
pub fn internal_error(request_id: &str) -> Resp {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &serde_json::json!({
            "error": "internal error",
            "type": "internal",
            "request_id": request_id,
        }),
    )
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Polls a future, turning a panic into `Err(message)`.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()).to_string())),
        }
    }
}

impl<S, B> Service<Request<B>> for InternalError<S>
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
        let request_id = req
            .headers()
            .get(headers::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        let path = req.uri().path().to_string();
        let called = catch_unwind(AssertUnwindSafe(|| self.inner.call(req)));
        Box::pin(async move {
            let outcome = match called {
                Ok(fut) => CatchPanic(Box::pin(fut)).await,
                Err(payload) => Err(panic_message(payload.as_ref()).to_string()),
            };
            let resp = match outcome {
                Ok(Ok(resp)) => resp,
                Ok(Err(never)) => match never {},
                Err(panic) => {
                    tracing::error!(request_id, path, panic, "a request handler panicked");
                    return Ok(internal_error(&request_id));
                }
            };
            if resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
                return Ok(resp);
            }
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            tracing::error!(
                request_id,
                path,
                error = %String::from_utf8_lossy(&body),
                "internal error"
            );
            Ok(internal_error(&request_id))
        })
    }
}
