//! A remote `sentio serve --worker`, reached with a pooled hyper client. The proxy forwards
//! the request body as it came; the worker's own client errors (4xx) pass through, while a
//! transport failure, timeout or server error of the worker becomes a 424.
use crate::error::ServeError;
use crate::http::{headers, Answer};
use crate::limits::Limits;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Request headers forwarded to the worker.
const FORWARDED: &[&str] = &[
    "content-type",
    "accept",
    headers::INFERENCE_ID,
    headers::CUSTOM_ATTRIBUTES,
    headers::REQUEST_ID,
];

pub struct Remote {
    base: String,
    variant: String,
    client: Client<HttpConnector, Full<Bytes>>,
    healthy: Arc<AtomicBool>,
    timeout: Duration,
    max_body: usize,
}

impl Remote {
    /// Checks the worker is ready and learns its model version and labels; starts a health
    /// probe that lives as long as this value.
    pub async fn connect(
        url: &str,
        variant: &str,
        limits: &Limits,
    ) -> Result<(Remote, String, Vec<String>), ServeError> {
        let base = url.trim_end_matches('/').to_string();
        let valid = base
            .parse::<hyper::Uri>()
            .is_ok_and(|u| u.scheme_str() == Some("http") && u.authority().is_some());
        if !valid {
            return Err(ServeError::Invalid(format!(
                "upstream {url:?} must be an http://host:port URL"
            )));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        let remote = Remote {
            base,
            variant: variant.to_string(),
            client,
            healthy: Arc::new(AtomicBool::new(false)),
            timeout: limits.upstream_timeout,
            max_body: limits.max_body_bytes,
        };
        let (status, body) = remote
            .call(Method::GET, "/ping", &HeaderMap::new(), Bytes::new())
            .await?;
        if status != StatusCode::OK {
            return Err(remote.failure(Some(status.as_u16()), "the worker is not ready".into()));
        }
        let (status, body2) = remote
            .call(Method::GET, "/v1/models", &HeaderMap::new(), Bytes::new())
            .await?;
        drop(body);
        let parsed: serde_json::Value = serde_json::from_slice(&body2)
            .map_err(|e| remote.failure(Some(status.as_u16()), format!("bad /v1/models: {e}")))?;
        let first = &parsed["variants"][0];
        let version = first["model_version"]
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        let labels = first["labels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        remote.healthy.store(true, Ordering::Relaxed);
        remote.spawn_probe();
        Ok((remote, version, labels))
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Forwards a request to the worker and returns its answer (424 on its failure).
    pub async fn forward(
        &self,
        path: &str,
        req_headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Answer, ServeError> {
        let mut fwd = HeaderMap::new();
        for name in FORWARDED {
            if let Some(v) = req_headers.get(*name) {
                fwd.insert(*name, v.clone());
            }
        }
        let (status, bytes, resp_headers) = self.call_full(Method::POST, path, &fwd, body).await?;
        if status.is_server_error() || status == StatusCode::FAILED_DEPENDENCY {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["error"].as_str().map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(500).collect());
            self.healthy
                .store(status != StatusCode::SERVICE_UNAVAILABLE, Ordering::Relaxed);
            return Err(self.failure(Some(status.as_u16()), message));
        }
        let mut kept = HeaderMap::new();
        for (k, v) in resp_headers.iter() {
            let keep = k == hyper::header::CONTENT_TYPE
                || k == hyper::header::RETRY_AFTER
                || k.as_str().starts_with("x-amzn-sagemaker")
                || k.as_str() == headers::MODEL_VERSION;
            if keep {
                kept.insert(k.clone(), v.clone());
            }
        }
        Ok(Answer {
            status,
            headers: kept,
            body: bytes,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        h: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ServeError> {
        let (s, b, _) = self.call_full(method, path, h, body).await?;
        Ok((s, b))
    }

    async fn call_full(
        &self,
        method: Method,
        path: &str,
        h: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes, HeaderMap), ServeError> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .body(Full::new(body))
            .map_err(|e| ServeError::Invalid(format!("bad upstream URL {}: {e}", self.base)))?;
        *req.headers_mut() = h.clone();
        let call = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| self.failure(None, format!("cannot reach {}: {e}", self.base)))?;
            let (parts, body) = resp.into_parts();
            let bytes = Limited::new(body, self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    self.failure(
                        Some(parts.status.as_u16()),
                        format!("bad response body: {e}"),
                    )
                })?
                .to_bytes();
            Ok::<_, ServeError>((parts.status, bytes, parts.headers))
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(self.failure(None, format!("no answer within {:?}", self.timeout))),
        }
    }

    fn failure(&self, status: Option<u16>, message: String) -> ServeError {
        ServeError::Upstream {
            variant: self.variant.clone(),
            status,
            message,
        }
    }

    fn spawn_probe(&self) {
        let flag = self.healthy.clone();
        let client = self.client.clone();
        let uri = format!("{}/ping", self.base);
        tokio::spawn(async move {
            // Stops once the Remote (the other owner of the flag) is gone.
            while Arc::strong_count(&flag) > 1 {
                tokio::time::sleep(PROBE_EVERY).await;
                let req = match Request::get(&uri).body(Full::new(Bytes::new())) {
                    Ok(r) => r,
                    Err(_) => return,
                };
                let ok = matches!(
                    tokio::time::timeout(Duration::from_secs(2), client.request(req)).await,
                    Ok(Ok(r)) if r.status() == StatusCode::OK
                );
                flag.store(ok, Ordering::Relaxed);
            }
        });
    }
}
