//! The target endpoint: a parsed `http://` URL and its resolved address.

use std::net::SocketAddr;

use hyper::header::HeaderValue;
use hyper::Uri;

use crate::error::Error;

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Socket address connections are opened to.
    pub addr: SocketAddr,
    /// `Host` header value (`host[:port]` as written in the URL).
    pub host: HeaderValue,
    /// Origin-form request target (`/path?query`).
    pub path: Uri,
}

/// The parts of a URL we need before resolving it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedUrl {
    pub host: String,
    pub port: u16,
    pub authority: String,
    pub path: String,
}

/// Parses and checks a target URL; only `http` is supported.
pub(crate) fn parse_url(url: &str) -> Result<ParsedUrl, Error> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(invalid("https is not supported; use an http:// URL")),
        Some(other) => return Err(invalid(&format!("unsupported scheme {other:?}"))),
        None => return Err(invalid("missing scheme; expected http://host[:port]/path")),
    }
    let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
    let host = authority.host();
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/")
        .to_string();
    Ok(ParsedUrl {
        host,
        port: authority.port_u16().unwrap_or(80),
        authority: authority.as_str().to_string(),
        path,
    })
}

impl Target {
    /// Parses `url` and resolves its host (first address wins).
    pub(crate) async fn resolve(url: &str) -> Result<Self, Error> {
        let parsed = parse_url(url)?;
        let invalid = |reason: String| Error::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let addr = tokio::net::lookup_host((parsed.host.as_str(), parsed.port))
            .await
            .map_err(|source| Error::Resolve {
                host: parsed.host.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| Error::Resolve {
                host: parsed.host.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            })?;
        let host = HeaderValue::from_str(&parsed.authority).map_err(|e| invalid(e.to_string()))?;
        let path = parsed
            .path
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| invalid(e.to_string()))?;
        Ok(Self { addr, host, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls() {
        let p = parse_url("http://localhost:8080/invocations?x=1").unwrap();
        assert_eq!(p.host, "localhost");
        assert_eq!(p.port, 8080);
        assert_eq!(p.authority, "localhost:8080");
        assert_eq!(p.path, "/invocations?x=1");
        let p = parse_url("http://example.com").unwrap();
        assert_eq!((p.port, p.path.as_str()), (80, "/"));
        let p = parse_url("http://[::1]:9/").unwrap();
        assert_eq!(p.host, "::1");
    }

    #[test]
    fn rejects_bad_urls() {
        for url in [
            "",
            "not a url",
            "localhost:8080",
            "https://x/",
            "ftp://x/",
            "/path",
        ] {
            assert!(
                matches!(parse_url(url), Err(Error::InvalidUrl { .. })),
                "{url:?} should be rejected"
            );
        }
    }
}
