//! Typed configuration of one load test (what [`crate::run`] takes).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::Error;

/// The default name of the sticky-session header.
pub const DEFAULT_STICKY_HEADER: &str = "X-Sentio-Session";
/// The default CSV column that holds the review text.
pub const DEFAULT_CSV_COLUMN: &str = "Review Text";
/// The default jsonlines field that holds the review text.
pub const DEFAULT_JSON_FIELD: &str = "text";

/// One load test: where, how hard, for how long, with what.
#[derive(Debug, Clone)]
pub struct Config {
    /// Target URL; `http://` only (no TLS).
    pub url: String,
    /// Arrival process (open, closed, ramp).
    pub mode: Mode,
    /// Number of keep-alive connections; in closed loop, the concurrency.
    pub connections: usize,
    /// When an open- or closed-loop run stops (ignored by the ramp).
    pub bounds: Bounds,
    /// Per-request timeout (connect + request + whole response body).
    pub timeout: Duration,
    /// Method and headers.
    pub request: RequestConfig,
    /// Request bodies.
    pub payload: PayloadConfig,
    /// HTTP/1.1 client implementation.
    pub client: ClientKind,
}

/// Which HTTP/1.1 client sends the requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientKind {
    /// Pre-serialised requests, one write and (usually) one read per
    /// request, responses parsed in place with httparse.
    #[default]
    Lean,
    /// hyper's `client::conn::http1` (a cross-check; slower per request).
    Hyper,
}

impl Config {
    /// A configuration with defaults: closed loop, 16 connections, 30 s
    /// timeout, built-in payload; `bounds` must still be set.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            mode: Mode::ClosedLoop,
            connections: 16,
            bounds: Bounds::default(),
            timeout: Duration::from_secs(30),
            request: RequestConfig::default(),
            payload: PayloadConfig::default(),
            client: ClientKind::default(),
        }
    }

    /// Checks the URL, ranges and consistency; [`crate::run`] calls this
    /// first (resolving the host is left to the run).
    pub fn validate(&self) -> Result<(), Error> {
        crate::target::parse_url(&self.url)?;
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        if self.connections == 0 || self.connections > 100_000 {
            return bad(format!(
                "connections must be between 1 and 100000, got {}",
                self.connections
            ));
        }
        if self.timeout.is_zero() {
            return bad("timeout must be greater than zero".into());
        }
        match &self.mode {
            Mode::OpenLoop { rate } => {
                check_rate("rate", *rate)?;
                self.bounds.validate()?;
            }
            Mode::ClosedLoop => self.bounds.validate()?,
            Mode::Ramp(ramp) => ramp.validate()?,
        }
        self.payload.validate()?;
        self.request.validate()
    }
}

fn check_rate(name: &str, rate: f64) -> Result<(), Error> {
    if !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0) {
        return Err(Error::InvalidConfig(format!(
            "{name} must be a number of requests per second in (0, 10000000], got {rate}"
        )));
    }
    Ok(())
}

/// How requests arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Constant arrival rate (requests per second); latency is measured from
    /// each request's intended send time, so server stalls are not hidden.
    OpenLoop { rate: f64 },
    /// `connections` workers, each sending its next request when the
    /// previous answer arrived; latency is measured from the actual send.
    ClosedLoop,
    /// A series of open-loop steps searching the highest rate that holds a
    /// p99 objective.
    Ramp(RampConfig),
}

/// When a run stops: whichever bound is reached first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bounds {
    /// Stop issuing requests after this long.
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub max_requests: Option<u64>,
}

impl Bounds {
    fn validate(&self) -> Result<(), Error> {
        match (self.duration, self.max_requests) {
            (None, None) => Err(Error::InvalidConfig(
                "give a duration, a request count, or both".into(),
            )),
            (Some(d), _) if d.is_zero() => Err(Error::InvalidConfig(
                "duration must be greater than zero".into(),
            )),
            (_, Some(0)) => Err(Error::InvalidConfig(
                "request count must be greater than zero".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// The step/ramp search.
#[derive(Debug, Clone, PartialEq)]
pub struct RampConfig {
    /// Rate of the first step, requests per second.
    pub start_rate: f64,
    /// Added to the rate after each passing step.
    pub step: f64,
    /// The search stops after this rate passes.
    pub max_rate: f64,
    /// Length of each step.
    pub step_duration: Duration,
    /// A step passes when its p99 latency (from intended send times) is at
    /// most this, its error fraction at most `max_error_rate`, and it
    /// achieved at least `min_achieved_share` of its intended rate with
    /// nothing left unsent.
    pub p99_objective: Duration,
    /// Largest passing fraction of failed requests (transport error or
    /// non-2xx status).
    pub max_error_rate: f64,
    /// Smallest share of the intended rate a passing step must achieve
    /// (achieved = answered + failed requests per second of the step).
    pub min_achieved_share: f64,
    /// After the first failing step, bisect between the last pass and the
    /// failure this many times.
    pub refine_steps: u32,
}

impl Default for RampConfig {
    fn default() -> Self {
        Self {
            start_rate: 100.0,
            step: 100.0,
            max_rate: 100_000.0,
            step_duration: Duration::from_secs(5),
            p99_objective: Duration::from_millis(100),
            max_error_rate: 0.01,
            min_achieved_share: 0.95,
            refine_steps: 2,
        }
    }
}

impl RampConfig {
    fn validate(&self) -> Result<(), Error> {
        check_rate("ramp start rate", self.start_rate)?;
        check_rate("ramp step", self.step)?;
        check_rate("ramp max rate", self.max_rate)?;
        if self.max_rate < self.start_rate {
            return Err(Error::InvalidConfig(format!(
                "ramp max rate {} is below the start rate {}",
                self.max_rate, self.start_rate
            )));
        }
        if self.step_duration.is_zero() || self.p99_objective.is_zero() {
            return Err(Error::InvalidConfig(
                "ramp step duration and p99 objective must be greater than zero".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            return Err(Error::InvalidConfig(format!(
                "max error rate must be a fraction in [0, 1], got {}",
                self.max_error_rate
            )));
        }
        if !(0.0..=1.0).contains(&self.min_achieved_share) {
            return Err(Error::InvalidConfig(format!(
                "minimum achieved share must be a fraction in [0, 1], got {}",
                self.min_achieved_share
            )));
        }
        if self.refine_steps > 20 {
            return Err(Error::InvalidConfig("at most 20 refine steps".into()));
        }
        Ok(())
    }
}

/// Method and headers of every request.
#[derive(Debug, Clone)]
pub struct RequestConfig {
    /// HTTP method; `GET` and `HEAD` send no body.
    pub method: String,
    /// Sets `X-Amzn-SageMaker-Target-Variant`.
    pub target_variant: Option<String>,
    /// Sticky session keys for A/B tests.
    pub sticky: Option<StickyKeys>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<SecretString>,
    /// Extra headers, sent as given.
    pub headers: Vec<(String, String)>,
}

impl Default for RequestConfig {
    fn default() -> Self {
        Self {
            method: "POST".into(),
            target_variant: None,
            sticky: None,
            bearer_token: None,
            headers: Vec::new(),
        }
    }
}

impl RequestConfig {
    fn validate(&self) -> Result<(), Error> {
        if let Some(sticky) = &self.sticky {
            if sticky.keys == 0 || sticky.keys > 1_000_000 {
                return Err(Error::InvalidConfig(format!(
                    "sticky key pool size must be between 1 and 1000000, got {}",
                    sticky.keys
                )));
            }
        }
        Ok(())
    }
}

/// A header whose value is drawn from a pool of `keys` session keys
/// (`key-0` … `key-{keys-1}`), in the payload order.
#[derive(Debug, Clone, PartialEq)]
pub struct StickyKeys {
    /// Header name, e.g. `X-Sentio-Session`.
    pub header: String,
    /// Size of the key pool.
    pub keys: usize,
}

/// Request bodies.
#[derive(Debug, Clone)]
pub struct PayloadConfig {
    /// Where the records come from.
    pub source: PayloadSource,
    /// Records per request body.
    pub records_per_request: usize,
    /// How records (and sticky keys) are picked.
    pub order: Order,
    /// Seed of the random order.
    pub seed: u64,
    /// Body encoding and `Content-Type`.
    pub content_type: ContentType,
}

impl Default for PayloadConfig {
    fn default() -> Self {
        Self {
            source: PayloadSource::Builtin,
            records_per_request: 1,
            order: Order::RoundRobin,
            seed: 0,
            content_type: ContentType::Json,
        }
    }
}

impl PayloadConfig {
    fn validate(&self) -> Result<(), Error> {
        if self.records_per_request == 0 || self.records_per_request > 10_000 {
            return Err(Error::InvalidConfig(format!(
                "records per request must be between 1 and 10000, got {}",
                self.records_per_request
            )));
        }
        Ok(())
    }
}

/// Where review texts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadSource {
    /// A few built-in reviews.
    Builtin,
    /// A CSV file with a header row; texts from `column`.
    Csv { path: PathBuf, column: String },
    /// A jsonlines file of objects; texts from the string `field`.
    JsonLines { path: PathBuf, field: String },
}

/// How records are picked for each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// In file order, wrapping around.
    RoundRobin,
    /// Uniformly at random, reproducible from the seed.
    Random,
}

/// Body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`: `{"instances": ["…", …]}`.
    Json,
    /// `application/jsonlines`: one JSON string per line.
    Jsonlines,
    /// `text/csv`: one quoted text per line.
    Csv,
}

impl ContentType {
    /// The MIME type sent in `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::Jsonlines => "application/jsonlines",
            ContentType::Csv => "text/csv",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(rate: f64) -> Config {
        let mut c = Config::new("http://127.0.0.1:1/");
        c.mode = Mode::OpenLoop { rate };
        c.bounds.duration = Some(Duration::from_secs(1));
        c
    }

    #[test]
    fn rate_must_be_positive_and_finite() {
        assert!(open(10.0).validate().is_ok());
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                open(rate).validate(),
                Err(Error::InvalidConfig(_))
            ));
        }
    }

    #[test]
    fn a_bound_is_required() {
        let mut c = Config::new("http://127.0.0.1:1/");
        assert!(c.validate().is_err());
        c.bounds.max_requests = Some(10);
        assert!(c.validate().is_ok());
        c.connections = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn ramp_needs_no_bounds_but_sane_rates() {
        let mut c = Config::new("http://127.0.0.1:1/");
        c.mode = Mode::Ramp(RampConfig::default());
        assert!(c.validate().is_ok());
        c.mode = Mode::Ramp(RampConfig {
            max_rate: 1.0,
            ..RampConfig::default()
        });
        assert!(c.validate().is_err());
    }
}
