//! `GET /ping`: 200 with an empty body once every variant is loaded and warmed (and, for
//! remote variants, answering); 503 while starting, draining or degraded.
use super::App;
use crate::error::ServeError;
use crate::http::{empty_response, error_response, Resp};
use hyper::StatusCode;

pub fn ping(app: &App) -> Resp {
    if app.endpoint.healthy() {
        empty_response(StatusCode::OK)
    } else {
        let phase = format!("{:?}", app.endpoint.phase()).to_lowercase();
        let e = ServeError::Unavailable(format!("not ready ({phase})"));
        error_response(&e, app.limits.retry_after_secs)
    }
}
