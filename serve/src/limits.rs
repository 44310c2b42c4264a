//! The front proxy's limits (a leaf: every layer and route reads them): request size and
//! time, concurrency, connections, and the shutdown sequence.
use std::time::Duration;

/// Request, connection and shutdown limits of the front proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Request body limit (SageMaker: 6 MiB).
    pub max_body_bytes: usize,
    /// Requests being handled at once (their bodies complete); beyond it requests are shed
    /// with 429. A request whose body is still arriving does not count.
    pub max_concurrency: usize,
    /// Most instances (texts) in one request.
    pub max_instances: usize,
    /// Time limit of handling one request once its body is read (SageMaker: 60 s; 504).
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish once the grace period is over.
    pub drain_timeout: Duration,
    /// Retry-After seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// Time limit of one call to a remote worker.
    pub upstream_timeout: Duration,
    /// Time a request's headers may take to arrive, counted from the connection's opening
    /// (first request) or from the first byte of a later request; past it the connection
    /// is closed.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may stay idle (no request in progress, no byte either
    /// way) before it is closed.
    pub idle_timeout: Duration,
    /// Time a request body may take to arrive in full (408 past it).
    pub body_read_timeout: Duration,
    /// Slowest average rate (bytes per second) a body may arrive at once
    /// [`Self::body_rate_grace`] has passed (408 below it); 0 turns the check off.
    pub min_body_rate: u64,
    /// Time a body gets before [`Self::min_body_rate`] applies.
    pub body_rate_grace: Duration,
    /// Bytes of request bodies held in memory at once, over all connections (bodies are
    /// read in full before a request takes a concurrency slot); a request whose next bytes
    /// do not fit is answered 429.
    pub max_buffered_body_bytes: usize,
    /// Open connections at most; `None`: [`default_max_connections`]. A connection past
    /// the cap is answered 429 and closed.
    pub max_connections: Option<usize>,
    /// After SIGTERM: how long the server keeps serving (with `/ping` answering 503 and
    /// every response carrying `Connection: close`) so a load balancer notices before
    /// the listener closes.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 6 * 1024 * 1024,
            max_concurrency: 512,
            max_instances: 1000,
            request_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(20),
            retry_after_secs: 1,
            upstream_timeout: Duration::from_secs(55),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            body_read_timeout: Duration::from_secs(30),
            min_body_rate: 1024,
            body_rate_grace: Duration::from_secs(5),
            max_buffered_body_bytes: 512 * 1024 * 1024,
            max_connections: None,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// File descriptors kept free for everything but client connections (model files, the
/// capture writer, connections to workers, refusing connections past the cap).
pub const RESERVED_FDS: u64 = 128;
/// The connection cap when the file-descriptor limit allows more.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The process's soft limit on open files (`RLIMIT_NOFILE`), if it can be read.
pub fn fd_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// Raises the soft limit on open files to the hard limit where the system allows it;
/// returns the soft limit in effect afterwards.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Connections the file-descriptor limit leaves room for (the soft limit minus
/// [`RESERVED_FDS`]); `None` when the limit cannot be read.
pub fn connection_budget() -> Option<usize> {
    fd_limit().map(|l| usize::try_from(l.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX))
}

/// The connection cap when none is configured: [`DEFAULT_MAX_CONNECTIONS`], or less when
/// the file-descriptor limit leaves less room.
pub fn default_max_connections() -> usize {
    connection_budget()
        .map(|b| b.clamp(1, DEFAULT_MAX_CONNECTIONS))
        .unwrap_or(DEFAULT_MAX_CONNECTIONS)
}

impl Limits {
    /// The connection cap in effect.
    pub fn connection_cap(&self) -> usize {
        self.max_connections.unwrap_or_else(default_max_connections)
    }

    /// Why these limits cannot work (together), if they cannot.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            (self.max_body_bytes, "the body limit"),
            (self.max_concurrency, "the concurrency limit"),
            (self.max_instances, "the instance limit"),
            (self.max_buffered_body_bytes, "the buffered body limit"),
        ];
        if let Some((_, what)) = positive.iter().find(|(v, _)| *v == 0) {
            return Err(format!("{what} must be positive"));
        }
        let times = [
            (self.request_timeout, "the request timeout"),
            (self.header_read_timeout, "the header read timeout"),
            (self.idle_timeout, "the idle timeout"),
            (self.body_read_timeout, "the body read timeout"),
        ];
        if let Some((_, what)) = times.iter().find(|(v, _)| v.is_zero()) {
            return Err(format!("{what} must be positive"));
        }
        if self.max_buffered_body_bytes < self.max_body_bytes {
            return Err(format!(
                "the buffered body limit ({} bytes) is below the body limit ({} bytes): a \
                 request of the largest allowed size could never be read",
                self.max_buffered_body_bytes, self.max_body_bytes
            ));
        }
        if let Some(n) = self.max_connections {
            if n == 0 {
                return Err("the connection cap must be positive".into());
            }
            if let Some(budget) = connection_budget() {
                if n > budget {
                    return Err(format!(
                        "the connection cap {n} is above what the open-file limit allows \
                         ({budget}: the soft limit {} minus {RESERVED_FDS} kept for other \
                         files); raise `ulimit -n` or lower the cap",
                        fd_limit().unwrap_or(0)
                    ));
                }
            }
        }
        Ok(())
    }
}
