//! The embedded assets: the stylesheet, the script and the icon. Nothing is fetched from
//! anywhere else.
use crate::error::{ConsoleError, Result};
use crate::http::{respond, Resp};
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::StatusCode;

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

pub fn get(name: &str) -> Result<Resp> {
    let (_, ctype, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ConsoleError::NotFound(format!("no asset {name:?}")))?;
    let mut r = respond(StatusCode::OK, ctype, *body);
    r.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(r)
}
