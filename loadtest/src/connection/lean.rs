//! The lean HTTP/1.1 client: one keep-alive connection that writes a
//! pre-serialised request with one `send` and reads the response into a
//! reused buffer, parsed in place by `httparse` (the parser hyper uses).
//!
//! hyper's client spends most of a loopback request in its dispatcher
//! (request/response channels, header maps, per-request allocations); on
//! a two-core machine that made the generator the bottleneck at about
//! 0.6–0.7 of wrk's rate. This path does what wrk does per request: one
//! write, usually one read (tokio clears readiness after a short read, so
//! no extra `EAGAIN` read), no allocation once the buffers have grown.
//!
//! Framing follows RFC 9112 §6: no body for HEAD, 1xx, 204 and 304;
//! otherwise `Transfer-Encoding: chunked`, then `Content-Length`, else
//! until the server closes. Interim 1xx responses are skipped.

use std::net::SocketAddr;

use httparse::Status;
use hyper::header::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use super::outcome::{Answer, Failure, INVOKED_VARIANT_HEADER};
use crate::request::RequestTemplate;

/// Most response headers we accept (a response with more is an error).
const MAX_HEADERS: usize = 64;
/// Free space the read buffer keeps before each read.
const READ_CHUNK: usize = 16 * 1024;
/// A response head larger than this is an error.
const MAX_HEAD: usize = 64 * 1024;

/// How the response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Exactly this many bytes.
    Length(usize),
    /// Chunked; `next` is the offset of the next chunk-size line.
    Chunked { next: usize },
    /// At EOF.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
struct Head {
    status: u16,
    variant: Option<HeaderValue>,
    /// Bytes of the head, interim responses included.
    len: usize,
    framing: Framing,
    keep_alive: bool,
}

/// One keep-alive connection and its buffers.
#[derive(Debug)]
pub(crate) struct LeanConnection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// The serialised request to send next.
    request: Vec<u8>,
    /// Whether that request is a HEAD request (its response has no body).
    head_request: bool,
    response: Vec<u8>,
}

impl LeanConnection {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            request: Vec::with_capacity(4096),
            head_request: false,
            response: Vec::with_capacity(READ_CHUNK * 2),
        }
    }

    pub(crate) async fn connect(&mut self) -> Result<(), Failure> {
        let stream = TcpStream::connect(self.addr).await.map_err(|e| {
            debug!(error = %e, addr = %self.addr, "connect failed");
            Failure::Connect
        })?;
        // Small requests must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        self.stream = Some(stream);
        Ok(())
    }

    /// Forgets the connection (after an error or a timeout).
    pub(crate) fn reset(&mut self) {
        self.stream = None;
    }

    /// Serialises request number `index` into the reused request buffer;
    /// returns its size on the wire.
    pub(crate) fn prepare(&mut self, template: &RequestTemplate, index: u64) -> u64 {
        self.head_request = template.is_head();
        template.write(index, &mut self.request)
    }

    /// Sends `self.request` and reads the whole response. Cancel-safe in
    /// the sense the caller needs: after a cancellation, call [`reset`].
    ///
    /// [`reset`]: Self::reset
    pub(crate) async fn exchange(&mut self) -> Result<Answer, Failure> {
        if let Some(stream) = &self.stream {
            if closed_while_idle(stream) {
                self.stream = None;
            }
        }
        if self.stream.is_none() {
            self.connect().await?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::Connect);
        };
        stream.write_all(&self.request).await.map_err(|e| {
            debug!(error = %e, "write failed");
            Failure::Io
        })?;
        let buf = &mut self.response;
        buf.clear();
        let mut head: Option<Head> = None;
        loop {
            if buf.capacity() - buf.len() < READ_CHUNK {
                buf.reserve(READ_CHUNK);
            }
            let n = stream.read_buf(buf).await.map_err(|e| {
                debug!(error = %e, "read failed");
                Failure::Io
            })?;
            if head.is_none() {
                head = parse_head(buf, self.head_request)?;
                if head.is_none() && buf.len() > MAX_HEAD {
                    debug!("response head too large");
                    return Err(Failure::Io);
                }
            }
            let eof = n == 0;
            let Some(h) = &mut head else {
                if eof {
                    debug!("connection closed before a response head");
                    return Err(Failure::Io);
                }
                continue;
            };
            if let Some(end) = body_end(buf, h, eof)? {
                let keep = h.keep_alive && !eof && end == buf.len();
                let answer = Answer {
                    status: h.status,
                    variant: h.variant.take(),
                    wire_bytes: end as u64,
                };
                if !keep {
                    self.stream = None;
                }
                return Ok(answer);
            }
            if eof {
                debug!("connection closed inside a response body");
                return Err(Failure::Io);
            }
        }
    }
}

/// True when the server closed (or wrote to) an idle connection. Costs
/// no system call unless the reactor saw the socket become readable.
fn closed_while_idle(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Ok(_) => true, // EOF, or bytes nobody asked for: start afresh.
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Parses the response head at the start of `buf`, skipping interim 1xx
/// responses; `None` when more bytes are needed.
fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, Failure> {
    let mut offset = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(&buf[offset..]) {
            Ok(Status::Complete(len)) => len,
            Ok(Status::Partial) => return Ok(None),
            Err(e) => {
                debug!(error = %e, "malformed response head");
                return Err(Failure::Io);
            }
        };
        let status = response.code.unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            offset += len;
            continue;
        }
        let mut chunked = false;
        let mut length = None;
        let mut close = response.version == Some(0);
        let mut variant = None;
        for h in response.headers.iter() {
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                let parsed = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
                match (parsed, length) {
                    (Some(n), None) => length = Some(n),
                    (Some(n), Some(m)) if n == m => {}
                    _ => {
                        debug!("invalid or conflicting content-length");
                        return Err(Failure::Io);
                    }
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            } else if name.eq_ignore_ascii_case(INVOKED_VARIANT_HEADER) {
                variant = HeaderValue::from_bytes(h.value).ok();
            }
        }
        let end = offset + len;
        let bodyless = head_request || status == 204 || status == 304 || status == 101;
        let framing = if bodyless {
            Framing::Length(0)
        } else if chunked {
            Framing::Chunked { next: end }
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        return Ok(Some(Head {
            status,
            variant,
            len: end,
            keep_alive: !close && framing != Framing::UntilClose,
            framing,
        }));
    }
}

/// The end offset of the whole response in `buf`, once it is all there.
fn body_end(buf: &[u8], head: &mut Head, eof: bool) -> Result<Option<usize>, Failure> {
    match &mut head.framing {
        Framing::Length(n) => {
            let end = head.len + *n;
            Ok((buf.len() >= end).then_some(end))
        }
        Framing::UntilClose => Ok(eof.then_some(buf.len())),
        Framing::Chunked { next } => loop {
            let (line, size) = match httparse::parse_chunk_size(&buf[*next..]) {
                Ok(Status::Complete(parsed)) => parsed,
                Ok(Status::Partial) => return Ok(None),
                Err(_) => {
                    debug!("malformed chunk size");
                    return Err(Failure::Io);
                }
            };
            let data = *next + line;
            if size == 0 {
                // Optional trailer fields, then an empty line.
                let rest = &buf[data..];
                if rest.len() < 2 {
                    return Ok(None);
                }
                if rest.starts_with(b"\r\n") {
                    return Ok(Some(data + 2));
                }
                return Ok(rest
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map(|p| data + p + 4));
            }
            let Some(end) = usize::try_from(size)
                .ok()
                .and_then(|s| data.checked_add(s))
                .and_then(|e| e.checked_add(2))
            else {
                return Err(Failure::Io);
            };
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                debug!("chunk not followed by CRLF");
                return Err(Failure::Io);
            }
            *next = end;
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8], head_request: bool, eof: bool) -> Option<(u16, usize, bool)> {
        let mut head = parse_head(bytes, head_request).unwrap()?;
        let end = body_end(bytes, &mut head, eof).unwrap()?;
        Some((head.status, end, head.keep_alive))
    }

    #[test]
    fn content_length_framing() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_all(r, false, false), Some((200, r.len(), true)));
        // One byte short: incomplete.
        assert_eq!(parse_all(&r[..r.len() - 1], false, false), None);
        // Head incomplete.
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn chunked_framing_with_and_without_trailers() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_all(r, false, false), Some((200, r.len(), true)));
        for cut in 40..r.len() {
            assert_eq!(parse_all(&r[..cut], false, false), None, "cut at {cut}");
        }
        let t =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(parse_all(t, false, false), Some((200, t.len(), true)));
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n";
        let mut head = parse_head(bad, false).unwrap().unwrap();
        assert_eq!(body_end(bad, &mut head, false), Err(Failure::Io));
    }

    #[test]
    fn bodyless_statuses_and_head_requests() {
        let r = b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(parse_all(r, false, false), Some((204, r.len(), true)));
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(parse_all(r, true, false), Some((200, r.len(), true)));
    }

    #[test]
    fn interim_responses_are_skipped() {
        let r = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(parse_all(r, false, false), Some((201, r.len(), true)));
    }

    #[test]
    fn close_delimited_and_connection_close() {
        let r = b"HTTP/1.1 200 OK\r\n\r\nuntil eof";
        assert_eq!(parse_all(r, false, false), None);
        assert_eq!(parse_all(r, false, true), Some((200, r.len(), false)));
        let r = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_all(r, false, false), Some((200, r.len(), false)));
        let r = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_all(r, false, false), Some((200, r.len(), false)));
        let r = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_all(r, false, false), Some((200, r.len(), true)));
    }

    #[test]
    fn variant_header_and_bad_heads() {
        let r =
            b"HTTP/1.1 200 OK\r\nX-Amzn-Invoked-Production-Variant: B\r\nContent-Length: 0\r\n\r\n";
        let head = parse_head(r, false).unwrap().unwrap();
        assert_eq!(head.variant.unwrap(), "B");
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad, false).unwrap_err(), Failure::Io);
        }
    }
}
