//! The routes. `Router` dispatches on method and path; each file holds one group:
//!
//! | route | file |
//! |---|---|
//! | `GET /ping` | `ping.rs` |
//! | `POST /invocations` | `invocations.rs` |
//! | `GET /metrics` | `metrics.rs` |
//! | `GET /v1/models`, `POST /v1/predict` | `native.rs` |
//! | `/v1/admin/…` (bearer token) | `admin.rs` |
//! | `/transform-jobs…` (bearer token) | `crate::transform::api` |
//! | `POST /feedback` | `feedback.rs` |
//! | `GET /experiments/{id}` | `experiments.rs` |
//!
//! Handlers return `Result<Resp, ServeError>`; the error becomes a response here only.
mod admin;
mod experiments;
mod feedback;
mod invocations;
mod metrics;
mod native;
mod ping;
mod predict;

use crate::config::{Limits, Secret};
use crate::endpoint::Endpoint;
use crate::error::ServeError;
use crate::http::{Req, Resp};
use hyper::Method;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Shared state of the routes.
pub struct App {
    pub endpoint: Endpoint,
    pub limits: Limits,
    pub admin_token: Option<Secret>,
    pub worker: bool,
    /// Batch transform jobs and the roots their paths are confined to.
    pub transform: crate::transform::TransformJobs,
    /// Capture, feedback, sticky routing, shadow.
    pub observe: crate::observe::Observe,
}

#[derive(Clone)]
pub struct Router {
    app: Arc<App>,
}

impl Router {
    pub fn new(app: Arc<App>) -> Self {
        Router { app }
    }
}

async fn dispatch(app: Arc<App>, req: Req) -> Result<Resp, ServeError> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    match (path.as_str(), &method) {
        ("/ping", &Method::GET) => Ok(ping::ping(&app)),
        ("/invocations", &Method::POST) => invocations::invocations(&app, req).await,
        ("/metrics", &Method::GET) => Ok(metrics::metrics()),
        ("/v1/models", &Method::GET) => Ok(native::models(&app)),
        ("/v1/predict", &Method::POST) => native::predict(&app, req).await,
        (p, _) if p.starts_with("/v1/admin/") || p == "/v1/admin" => admin::handle(&app, req).await,
        (p, _) if p == "/transform-jobs" || p.starts_with("/transform-jobs/") => {
            admin::authorize(&app, req.headers())?;
            let limit = app.limits.max_body_bytes;
            crate::transform::api::handle(&app.transform, &app.endpoint, limit, req).await
        }
        ("/feedback", &Method::POST) => feedback::feedback(&app, req).await,
        (p, &Method::GET) if p.starts_with("/experiments/") => experiments::get(&app, p).await,
        ("/ping" | "/invocations" | "/metrics" | "/v1/models" | "/v1/predict" | "/feedback", _) => {
            Err(ServeError::MethodNotAllowed)
        }
        (p, _) => Err(ServeError::NotFound(format!("no route {p}"))),
    }
}

impl tower::Service<Req> for Router {
    type Response = Resp;
    type Error = Infallible;
    type Future = crate::middleware::BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move {
            let retry = app.limits.retry_after_secs;
            Ok(dispatch(app, req).await.unwrap_or_else(|e| {
                if e.status().is_server_error() {
                    tracing::error!(error = %e, "request failed");
                }
                e.into_response(retry)
            }))
        })
    }
}
