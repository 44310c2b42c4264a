//! A small HTTP/1 client for the calls the server and its tools make: drift webhooks and
//! the management API (`sentio experiment promote`).
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `body` as JSON with `method` to an `http://` URL, with a bearer token if given;
/// returns the body of a 2xx answer.
pub async fn send_json(
    method: hyper::Method,
    url: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> Result<Bytes, ClientError> {
    let failed = |message: String| ClientError::Failed {
        url: url.to_string(),
        message,
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(t) = bearer {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let bytes = serde_json::to_vec(body).map_err(|e| failed(e.to_string()))?;
    let req = req
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| failed(e.to_string()))?;
    let resp = tokio::time::timeout(TIMEOUT, client.request(req))
        .await
        .map_err(|_| failed(format!("no answer within {TIMEOUT:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?
        .to_bytes();
    if !(200..300).contains(&status) {
        return Err(ClientError::Status {
            url: url.to_string(),
            status,
            body: String::from_utf8_lossy(&body).chars().take(500).collect(),
        });
    }
    Ok(body)
}
