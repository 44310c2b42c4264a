//! Once shutdown has begun, every response carries `Connection: close`: hyper closes the
//! connection after writing it, so keep-alive clients reconnect (to another instance,
//! once the load balancer has seen `/ping` turn 503) instead of sending their next request
//! on a connection that is about to close.
use super::BoxFuture;
use crate::http::Resp;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::Request;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Set once when shutdown begins; read by every response.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
pub struct DrainLayer(pub Draining);

impl<S> Layer<S> for DrainLayer {
    type Service = Drain<S>;
    fn layer(&self, inner: S) -> Drain<S> {
        Drain {
            inner,
            draining: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Drain<S> {
    inner: S,
    draining: Draining,
}

impl<S, B> Service<Request<B>> for Drain<S>
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
        let fut = self.inner.call(req);
        let draining = self.draining.clone();
        Box::pin(async move {
            let mut resp = fut.await?;
            // Checked when the answer is ready: a request that began before shutdown and
            // ends after it closes its connection too.
            if draining.is_set() {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp)
        })
    }
}
