//! What [`crate::run`] needs: the home, extra endpoints, the admin token and a few knobs.
use pipeline::Home;
use secrecy::SecretString;
use std::time::Duration;

/// An endpoint given by name and base URL (`--endpoint NAME=URL`), in addition to those
/// recorded in the home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    pub name: String,
    pub url: String,
}

impl std::str::FromStr for EndpointTarget {
    type Err = String;
    /// `NAME=http://host:port`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, url) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not NAME=URL"))?;
        let name = name.trim();
        let url = url.trim().trim_end_matches('/');
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!("endpoint name {name:?} must be [A-Za-z0-9_-]+"));
        }
        if !url.starts_with("http://") || url.len() <= "http://".len() {
            return Err(format!("endpoint URL {url:?} must start with http://"));
        }
        Ok(EndpointTarget {
            name: name.to_string(),
            url: url.to_string(),
        })
    }
}

/// The console's configuration.
#[derive(Clone)]
pub struct ConsoleConfig {
    pub home: Home,
    pub endpoints: Vec<EndpointTarget>,
    /// Enables actions; also sent to endpoints' management APIs. None: read-only.
    pub admin_token: Option<SecretString>,
    /// Rows per page of paginated lists.
    pub page_size: usize,
    /// How long a call to an endpoint may take.
    pub endpoint_timeout: Duration,
    /// An endpoint's `/metrics` is read at most this often (live charts poll it only while
    /// a page is open).
    pub scrape_interval: Duration,
    /// Live samples kept per endpoint.
    pub live_samples: usize,
}

impl ConsoleConfig {
    pub fn new(home: Home) -> Self {
        ConsoleConfig {
            home,
            endpoints: Vec::new(),
            admin_token: None,
            page_size: 25,
            endpoint_timeout: Duration::from_secs(3),
            scrape_interval: Duration::from_secs(2),
            live_samples: 150,
        }
    }
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("home", &self.home)
            .field("endpoints", &self.endpoints)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_targets_parse() {
        let t: EndpointTarget = "demo=http://127.0.0.1:8080/".parse().unwrap();
        assert_eq!(
            (t.name.as_str(), t.url.as_str()),
            ("demo", "http://127.0.0.1:8080")
        );
        for bad in [
            "demo",
            "=http://x",
            "a b=http://x",
            "demo=https://x",
            "demo=http://",
        ] {
            assert!(bad.parse::<EndpointTarget>().is_err(), "{bad}");
        }
    }
}
