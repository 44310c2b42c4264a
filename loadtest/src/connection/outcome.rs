//! What one exchange yields, whichever client ran it: an [`Answer`] or a
//! [`Failure`]. A leaf module: both clients and the dispatcher use it, it
//! uses none of them.

use hyper::header::HeaderValue;

/// Response header naming the variant that answered.
pub const INVOKED_VARIANT_HEADER: &str = "x-amzn-invoked-production-variant";

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// TCP connect or HTTP handshake failed.
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The connection broke while sending or receiving.
    Io,
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub variant: Option<HeaderValue>,
    /// Status line + headers + body: exactly as received with the lean
    /// client; with hyper's, the head is reconstructed from the parsed
    /// headers (approximate).
    pub wire_bytes: u64,
}
