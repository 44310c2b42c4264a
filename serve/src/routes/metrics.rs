//! `GET /metrics`: the Prometheus exposition.
use crate::http::{bytes_response, Resp};
use hyper::StatusCode;

pub fn metrics() -> Resp {
    bytes_response(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        crate::telemetry::render(),
    )
}
