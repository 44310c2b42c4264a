//! Building the n-th request: method, headers, sticky key and body.

use std::io::Write;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use secrecy::ExposeSecret;

use crate::body::Bodies;
use crate::config::{Order, RequestConfig};
use crate::error::Error;
use crate::pick::{pick, Stream};
use crate::target::Target;

/// Header naming the production variant the client asks for.
pub const TARGET_VARIANT_HEADER: &str = "x-amzn-sagemaker-target-variant";

/// A request ready to send, and its size on the wire.
pub(crate) struct Prepared {
    pub request: Request<Full<Bytes>>,
    pub wire_bytes: u64,
}

/// Everything constant across requests, plus what varies by index.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    method: Method,
    path: Uri,
    headers: HeaderMap,
    sticky: Option<(HeaderName, Vec<HeaderValue>)>,
    bodies: Option<Bodies>,
    order: Order,
    seed: u64,
    /// Request line + constant headers + blank line, in bytes.
    head_bytes: u64,
    /// Request line + constant headers, serialised (for the lean client).
    raw_head: Vec<u8>,
}

fn header_name(name: &str) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|e| Error::InvalidHeader {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value).map_err(|e| Error::InvalidHeader {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

impl RequestTemplate {
    pub(crate) fn new(
        config: &RequestConfig,
        target: &Target,
        bodies: Bodies,
        content_type: &'static str,
        order: Order,
        seed: u64,
    ) -> Result<Self, Error> {
        let method = Method::from_bytes(config.method.as_bytes()).map_err(|_| {
            Error::InvalidConfig(format!("invalid HTTP method {:?}", config.method))
        })?;
        let has_body = !matches!(method, Method::GET | Method::HEAD);
        let mut headers = HeaderMap::new();
        headers.insert(HOST, target.host.clone());
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if let Some(variant) = &config.target_variant {
            headers.insert(
                HeaderName::from_static(TARGET_VARIANT_HEADER),
                header_value(TARGET_VARIANT_HEADER, variant)?,
            );
        }
        if let Some(token) = &config.bearer_token {
            let mut value = header_value(
                "authorization",
                &format!("Bearer {}", token.expose_secret()),
            )?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in &config.headers {
            headers.append(header_name(name)?, header_value(name, value)?);
        }
        let sticky = match &config.sticky {
            Some(s) => {
                let name = header_name(&s.header)?;
                let values = (0..s.keys)
                    .map(|k| HeaderValue::from_str(&format!("key-{k}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::InvalidHeader {
                        name: s.header.clone(),
                        reason: e.to_string(),
                    })?;
                Some((name, values))
            }
            None => None,
        };
        let head_bytes = (method.as_str().len()
            + 1
            + target.path.to_string().len()
            + 11
            + headers
                .iter()
                .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
                .sum::<usize>()
            + 2) as u64;
        let mut raw_head = format!("{} {} HTTP/1.1\r\n", method, target.path).into_bytes();
        for (name, value) in &headers {
            put_header(&mut raw_head, name.as_str().as_bytes(), value.as_bytes());
        }
        Ok(Self {
            raw_head,
            method,
            path: target.path.clone(),
            headers,
            sticky,
            bodies: has_body.then_some(bodies),
            order,
            seed,
            head_bytes,
        })
    }

    /// The sticky-key header of request number `index`, if keys are used.
    fn sticky_key(&self, index: u64) -> Option<(&HeaderName, &HeaderValue)> {
        let (name, values) = self.sticky.as_ref()?;
        let k = pick(
            self.order,
            self.seed,
            Stream::StickyKey,
            index,
            values.len(),
        );
        Some((name, &values[k]))
    }

    /// Whether requests use the HEAD method (their responses have no body).
    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }

    /// Serialises request number `index` into `out` (cleared first), the
    /// same request [`build`](Self::build) makes; returns its length.
    pub(crate) fn write(&self, index: u64, out: &mut Vec<u8>) -> u64 {
        out.clear();
        out.extend_from_slice(&self.raw_head);
        if let Some((name, key)) = self.sticky_key(index) {
            put_header(out, name.as_str().as_bytes(), key.as_bytes());
        }
        match &self.bodies {
            Some(bodies) => {
                let body = bodies.body(index);
                // Writing to a Vec cannot fail.
                let _ = write!(out, "content-length: {}\r\n\r\n", body.len());
                out.extend_from_slice(&body);
            }
            None => out.extend_from_slice(b"\r\n"),
        }
        out.len() as u64
    }

    /// The request number `index`.
    pub(crate) fn build(&self, index: u64) -> Prepared {
        let body = self
            .bodies
            .as_ref()
            .map(|b| b.body(index))
            .unwrap_or_default();
        let mut wire_bytes = self.head_bytes + body.len() as u64;
        if self.bodies.is_some() {
            // "content-length: N\r\n", added by hyper.
            wire_bytes += 18 + decimal_len(body.len() as u64);
        }
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some((name, key)) = self.sticky_key(index) {
            wire_bytes += (name.as_str().len() + 2 + key.len() + 2) as u64;
            request.headers_mut().insert(name.clone(), key.clone());
        }
        Prepared {
            request,
            wire_bytes,
        }
    }
}

fn put_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn decimal_len(mut n: u64) -> u64 {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ContentType, StickyKeys};
    use secrecy::SecretString;

    fn target() -> Target {
        Target {
            addr: "127.0.0.1:80".parse().unwrap(),
            host: HeaderValue::from_static("localhost"),
            path: "/invocations".parse().unwrap(),
        }
    }

    fn template(config: &RequestConfig) -> RequestTemplate {
        let bodies = Bodies::new(&["x".into()], ContentType::Json, 1, Order::RoundRobin, 0);
        RequestTemplate::new(
            config,
            &target(),
            bodies,
            "application/json",
            Order::RoundRobin,
            0,
        )
        .unwrap()
    }

    #[test]
    fn headers_and_sticky_keys() {
        let config = RequestConfig {
            target_variant: Some("B".into()),
            sticky: Some(StickyKeys {
                header: "X-Sentio-Session".into(),
                keys: 3,
            }),
            bearer_token: Some(SecretString::from("t0k")),
            headers: vec![("X-Extra".into(), "1".into())],
            ..RequestConfig::default()
        };
        let t = template(&config);
        let r = t.build(4).request;
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/invocations");
        let h = r.headers();
        assert_eq!(h["host"], "localhost");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h[TARGET_VARIANT_HEADER], "B");
        assert_eq!(h["authorization"], "Bearer t0k");
        assert_eq!(h["x-extra"], "1");
        assert_eq!(h["x-sentio-session"], "key-1");
    }

    #[test]
    fn wire_size_counts_head_and_body() {
        let t = template(&RequestConfig::default());
        let p = t.build(0);
        // POST /invocations HTTP/1.1\r\n host: localhost\r\n
        // content-type: application/json\r\n content-length: 19\r\n \r\n
        // {"instances":["x"]}
        let expected = 28 + 17 + 32 + 20 + 2 + 19;
        assert_eq!(p.wire_bytes, expected);
    }

    #[test]
    fn bad_header_is_an_error() {
        let config = RequestConfig {
            headers: vec![("bad header".into(), "x".into())],
            ..RequestConfig::default()
        };
        let bodies = Bodies::new(&["x".into()], ContentType::Json, 1, Order::RoundRobin, 0);
        assert!(matches!(
            RequestTemplate::new(
                &config,
                &target(),
                bodies,
                "application/json",
                Order::RoundRobin,
                0
            ),
            Err(Error::InvalidHeader { .. })
        ));
    }
}
