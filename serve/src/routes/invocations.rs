//! `POST /invocations`: the SageMaker inference contract (see `invoke` for the sequence).
use super::invoke::{invoke, Invocation};
use super::App;
use crate::codec::{input_format, output_format};
use crate::error::ServeError;
use crate::http::{header_str, read_body, Req, Resp};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use std::time::Instant;

pub async fn invocations(app: &App, req: Req) -> Result<Resp, ServeError> {
    let started = Instant::now();
    let content_type = header_str(req.headers(), CONTENT_TYPE.as_str());
    let formats = input_format(content_type).and_then(|i| {
        let o = output_format(header_str(req.headers(), ACCEPT.as_str()))?;
        Ok((i, o))
    });
    let content_type = content_type.unwrap_or("application/json").to_string();
    let (parts, body) = match read_body(req, app.limits.max_body_bytes).await {
        Ok((parts, body)) => (parts, Ok(body)),
        Err((parts, e)) => (parts, Err(e)),
    };
    invoke(
        app,
        Invocation {
            path: "/invocations",
            headers: &parts.headers,
            body,
            content_type,
            formats,
            allow_single: true,
            body_target: None,
            started,
        },
    )
    .await
}
