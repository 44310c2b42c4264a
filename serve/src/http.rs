//! HTTP types shared by the middleware and the routes, and small response helpers.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Request, Response, StatusCode};

use crate::error::ServeError;

/// A request as the routes see it: its body was read in full by the front proxy
/// (`middleware::body_read`), within the size and time limits.
pub type Req = Request<Full<Bytes>>;
/// Every response body is a complete buffer (predictions are small; 6 MiB at most).
pub type Resp = Response<Full<Bytes>>;

/// The future of the crate's own services and middleware (one allocation per request and
/// layer).
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// Vendor headers of the SageMaker contract.
pub mod headers {
    pub const TARGET_VARIANT: &str = "x-amzn-sagemaker-target-variant";
    pub const INVOKED_VARIANT: &str = "x-amzn-invoked-production-variant";
    pub const INFERENCE_ID: &str = "x-amzn-sagemaker-inference-id";
    pub const CUSTOM_ATTRIBUTES: &str = "x-amzn-sagemaker-custom-attributes";
    pub const MODEL_VERSION: &str = "x-sentio-model-version";
    pub const REQUEST_ID: &str = "x-request-id";
}

pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    bytes_response(status, "application/json", body)
}

pub fn bytes_response(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

pub fn empty_response(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

/// A complete answer before it becomes a response: what data capture and shadow copies
/// read (the body is shared, not copied).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        Answer {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The answer of an error: its status, the one JSON body shape, `Retry-After` on 429
    /// and 503, `WWW-Authenticate` on 401, `Allow` on 405.
    pub fn error(e: &ServeError, retry_after_secs: u64) -> Self {
        let status = e.status();
        let body = serde_json::to_vec(&e.to_json()).unwrap_or_else(|_| b"{}".to_vec());
        let mut a = Answer::new(status, "application/json", body);
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            a.headers
                .insert(header::RETRY_AFTER, retry_after_secs.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            a.headers.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let ServeError::MethodNotAllowed(allow) = e {
            if let Ok(v) = header::HeaderValue::from_str(allow) {
                a.headers.insert(header::ALLOW, v);
            }
        }
        a
    }

    pub fn content_type(&self) -> &str {
        header_str(&self.headers, header::CONTENT_TYPE.as_str()).unwrap_or("application/json")
    }

    pub fn into_response(self) -> Resp {
        let mut resp = Response::new(Full::new(self.body));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers;
        resp
    }
}

/// The response of an error (see [`Answer::error`]).
pub fn error_response(e: &ServeError, retry_after_secs: u64) -> Resp {
    Answer::error(e, retry_after_secs).into_response()
}

/// The request's body (read by the front proxy already) and its parts. The error side is
/// kept for the routes' sake: a body the proxy let through is always complete.
pub async fn read_body(
    req: Req,
    _limit: usize,
) -> Result<(http::request::Parts, Bytes), (http::request::Parts, ServeError)> {
    let (parts, body) = req.into_parts();
    match body.collect().await {
        Ok(b) => Ok((parts, b.to_bytes())),
        Err(never) => match never {},
    }
}

/// The whole body of a request, or why it could not be read.
pub async fn body_bytes(req: Req, limit: usize) -> Result<Bytes, ServeError> {
    read_body(req, limit)
        .await
        .map(|(_, b)| b)
        .map_err(|(_, e)| e)
}

/// A header as a string, if present and valid.
pub fn header_str<'a>(headers: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
