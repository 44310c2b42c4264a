//! Calls to endpoints over HTTP/1 (`/v1/models`, `/metrics`, `/v1/admin/…`,
//! `/experiments/{id}`), each within a time limit.
use crate::error::{ConsoleError, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use std::time::Duration;

/// Endpoint answers larger than this are refused (a `/metrics` page is a few hundred KB).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct EndpointClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl EndpointClient {
    pub fn new(timeout: Duration) -> Self {
        EndpointClient {
            client: Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build_http(),
            timeout,
        }
    }

    /// Sends a request; returns the status and body of any answer.
    pub async fn call(
        &self,
        endpoint: &str,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        bearer: Option<&str>,
    ) -> Result<(u16, Bytes)> {
        let fail = |message: String| ConsoleError::Endpoint {
            endpoint: endpoint.to_string(),
            message,
        };
        let mut req = hyper::Request::builder().method(method).uri(url);
        if let Some(t) = bearer {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let payload = match body {
            Some(b) => {
                req = req.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(b).unwrap_or_default())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(payload))
            .map_err(|e| fail(format!("bad request: {e}")))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| fail(format!("unreachable ({e})")))?;
            let status = resp.status().as_u16();
            let bytes = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| fail(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail(format!("no answer within {:?}", self.timeout)))?
    }

    /// GET a JSON document; a non-2xx answer is an error carrying the endpoint's message.
    pub async fn get_json(
        &self,
        endpoint: &str,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<serde_json::Value> {
        let (status, bytes) = self.call(endpoint, Method::GET, url, None, bearer).await?;
        decode(endpoint, status, &bytes)
    }

    /// Sends JSON; a non-2xx answer is an error carrying the endpoint's message.
    pub async fn send_json(
        &self,
        endpoint: &str,
        method: Method,
        url: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
    ) -> Result<serde_json::Value> {
        let (status, bytes) = self.call(endpoint, method, url, Some(body), bearer).await?;
        decode(endpoint, status, &bytes)
    }

    /// GET a text document (the Prometheus exposition).
    pub async fn get_text(&self, endpoint: &str, url: &str) -> Result<String> {
        let (status, bytes) = self.call(endpoint, Method::GET, url, None, None).await?;
        if !(200..300).contains(&status) {
            return Err(ConsoleError::Endpoint {
                endpoint: endpoint.to_string(),
                message: format!("{url} answered {status}"),
            });
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn decode(endpoint: &str, status: u16, bytes: &[u8]) -> Result<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(bytes).chars().take(300).collect())
    });
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let message = value["error"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    Err(ConsoleError::Endpoint {
        endpoint: endpoint.to_string(),
        message: format!("answered {status}: {message}"),
    })
}
