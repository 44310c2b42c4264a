//! Request and response helpers: bodies, queries, forms, cookies, and the one place where
//! an error becomes a response (JSON for `/api/…`, a page otherwise).
use crate::error::{ConsoleError, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use hyper::{HeaderMap, Response, StatusCode};
use std::collections::HashMap;

pub type Req = hyper::Request<hyper::body::Incoming>;
pub type Resp = Response<Full<Bytes>>;

/// Largest request body accepted (forms and JSON actions are small).
pub const MAX_BODY: usize = 64 * 1024;

/// Scripts, styles and images from the console itself only; no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn with_headers(mut r: Resp, content_type: &'static str) -> Resp {
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

pub fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let mut r = with_headers(r, content_type);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn html(status: StatusCode, body: String) -> Resp {
    respond(status, "text/html; charset=utf-8", body)
}

pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    respond(status, "application/json", body)
}

/// 303 See Other to `location` (after a form post).
pub fn see_other(location: &str) -> Resp {
    let mut r = respond(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// The JSON error body: `{"error": "...", "type": "..."}`.
pub fn error_json(e: &ConsoleError) -> Resp {
    json(
        e.status(),
        &serde_json::json!({ "error": e.public_message(), "type": e.kind() }),
    )
}

pub fn header<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The query string as a map (last value wins).
pub fn query(uri: &hyper::Uri) -> HashMap<String, String> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .map(|v| v.into_iter().collect())
        .unwrap_or_default()
}

/// The body, refusing more than [`MAX_BODY`] bytes.
pub async fn body(req: Req) -> Result<Bytes> {
    Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ConsoleError::BadRequest(format!("cannot read the body: {e}")))
}

/// An `application/x-www-form-urlencoded` body as (name, value) pairs, in order.
pub fn form_fields(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ConsoleError::BadRequest(format!("malformed form: {e}")))
}

/// A cookie's value.
pub fn cookie<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_queries() {
        let mut h = HeaderMap::new();
        h.append("cookie", HeaderValue::from_static("a=1; sentio_csrf=abc"));
        assert_eq!(cookie(&h, "sentio_csrf"), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        let uri: hyper::Uri = "/x?page=2&at=2025-01-01%2012:00".parse().unwrap();
        let q = query(&uri);
        assert_eq!(q["page"], "2");
        assert_eq!(q["at"], "2025-01-01 12:00");
        assert_eq!(
            form_fields(b"note=ok+then&token=t").unwrap(),
            [
                ("note".into(), "ok then".into()),
                ("token".into(), "t".into())
            ]
        );
    }
}
