//! The front proxy's middleware stack. The order, outermost first, and why:
//!
//! 1. **request id** — every later layer and the handler can log it; echoed in the
//!    response (`x-request-id`, a UUID unless the client sent one);
//! 2. **access log** — sees every request, including those shed or refused below;
//! 3. **HTTP metrics** — counts every response by route and status class, shed ones too;
//! 4. **load shed** — a concurrency limit that answers 429 at once when full (before any
//!    work, before the timeout starts; /ping and /metrics bypass it);
//! 5. **timeout** — bounds everything a request does from here, body reading included;
//! 6. **body limit** — 413 on a declared oversize body, and a capped body for the rest;
//! 7. **router** — the routes (`routes/`).
use super::access_log::AccessLogLayer;
use super::body_limit::BodyLimitLayer;
use super::http_metrics::HttpMetricsLayer;
use super::shed::ShedLayer;
use super::timeout::TimeoutLayer;
use crate::http::Resp;
use crate::limits::Limits;
use crate::routes::Router;
use hyper::body::Incoming;
use hyper::Request;
use std::convert::Infallible;
use tower::util::BoxCloneService;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The service each connection runs.
pub type FrontService = BoxCloneService<Request<Incoming>, Resp, Infallible>;

pub fn build(router: Router, limits: &Limits) -> FrontService {
    let svc = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid)) // 1. request id
        .layer(PropagateRequestIdLayer::x_request_id()) //          1. …echoed back
        .layer(AccessLogLayer) //                                    2. access log
        .layer(HttpMetricsLayer) //                                  3. HTTP metrics
        .layer(ShedLayer::new(
            limits.max_concurrency,
            limits.retry_after_secs,
        )) // 4. load shed
        .layer(TimeoutLayer(limits.request_timeout)) //              5. timeout
        .layer(BodyLimitLayer(limits.max_body_bytes)) //             6. body limit
        .service(router); //                                         7. router
    BoxCloneService::new(svc)
}
