//! HTTP types shared by the middleware and the routes, and small response helpers.
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{header, Request, Response, StatusCode};

use crate::error::ServeError;

/// A request as the routes see it: the body is already wrapped in the size limit.
pub type Req = Request<Limited<Incoming>>;
/// Every response body is a complete buffer (predictions are small; 6 MiB at most).
pub type Resp = Response<Full<Bytes>>;

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

/// Reads the whole (size-limited) body; going over the limit is a 413.
pub async fn read_body(
    req: Req,
    limit: usize,
) -> Result<(http::request::Parts, Bytes), ServeError> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ServeError::TooLarge { limit }
            } else {
                ServeError::Malformed(format!("cannot read the request body: {e}"))
            }
        })?
        .to_bytes();
    Ok((parts, bytes))
}

/// A header as a string, if present and valid.
pub fn header_str<'a>(headers: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
