//! The front proxy's middleware stack. The order, outermost first, and why:
//!
//! 1. **request id** — every later layer and the handler can log it; echoed in the
//!    response (`x-request-id`, a UUID unless the client sent one);
//! 2. **drain** — once shutdown has begun, every response says `Connection: close`
//!    (refusals below included);
//! 3. **access log** — sees every request, including those shed or refused below;
//! 4. **HTTP metrics** — counts every response by route and status class, shed ones too;
//! 5. **internal error** — a panic below becomes a 500, and no 500 body says more than
//!    "internal error" and the request id (the cause goes to the log);
//! 6. **body read** — the whole body is read here, within the body limit (413), the body
//!    read timeout and minimum rate (408) and the shared body buffer (429), *before* the
//!    concurrency limit: a client that sends slowly holds its connection, never a slot;
//! 7. **load shed** — a concurrency limit over requests whose body is complete that
//!    answers 429 at once when full (before any work, before the timeout starts; /ping
//!    and /metrics bypass it);
//! 8. **timeout** — bounds the handling of a request (504);
//! 9. **router** — the routes (`routes/`).
//!
//! Below the stack, per connection (`server`): the header read and idle timeouts and the
//! connection cap.
use super::access_log::AccessLogLayer;
use super::body_read::BodyReadLayer;
use super::drain::{DrainLayer, Draining};
use super::http_metrics::HttpMetricsLayer;
use super::internal_error::InternalErrorLayer;
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

pub fn build(router: Router, limits: &Limits, draining: Draining) -> FrontService {
    let svc = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid)) // 1. request id
        .layer(PropagateRequestIdLayer::x_request_id()) //          1. …echoed back
        .layer(DrainLayer(draining)) //                              2. drain
        .layer(AccessLogLayer) //                                    3. access log
        .layer(HttpMetricsLayer) //                                  4. HTTP metrics
        .layer(InternalErrorLayer) //                                5. internal error
        .layer(BodyReadLayer::new(limits)) //                        6. body read
        .layer(ShedLayer::new(
            limits.max_concurrency,
            limits.retry_after_secs,
        )) // 7. load shed
        .layer(TimeoutLayer(limits.request_timeout)) //              8. timeout
        .service(router); //                                         9. router
    BoxCloneService::new(svc)
}
