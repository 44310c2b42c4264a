//! Both HTTP/1.1 clients (lean and hyper) against a raw TCP server that
//! answers with every framing a server may use: Content-Length, chunked
//! (split across writes), an interim 100 Continue, `Connection: close`,
//! close-delimited bodies and 204. Every request must be answered, counted
//! by status and variant, and the server must see well-formed requests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadtest::{ClientKind, Config, PayloadSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The scripted responses, in order, cycling; each is written in parts
/// with a short pause between them. `true`: the server closes afterwards.
fn script() -> Vec<(Vec<&'static [u8]>, bool)> {
    vec![
        (
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Amzn-Invoked-Production-Variant: A\r\n\r\nhello"],
            false,
        ),
        (
            vec![
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Amzn-Invoked-Production-Variant: B\r\n\r\n4\r\nwo",
                b"rd\r\n",
                b"3\r\nabc\r\n0\r\n\r\n",
            ],
            false,
        ),
        (
            vec![b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"],
            false,
        ),
        (
            vec![b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy"],
            true,
        ),
        (vec![b"HTTP/1.1 200 OK\r\n\r\n", b"until the end"], true),
        (vec![b"HTTP/1.1 204 No Content\r\n\r\n"], false),
    ]
}

/// Requests as the server saw them: (head, body).
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

async fn raw_server() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let next = Arc::new(Mutex::new(0usize));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(connection(stream, log.clone(), next.clone()));
        }
    });
    (addr, seen)
}

async fn connection(mut stream: TcpStream, seen: Seen, next: Arc<Mutex<usize>>) {
    let script = script();
    let mut buf = Vec::new();
    loop {
        // Read one whole request.
        let (head_len, body_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(n)) = req.parse(&buf) {
                let len = req
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |h| {
                        std::str::from_utf8(h.value).unwrap().parse().unwrap()
                    });
                if buf.len() >= n + len {
                    break (n, len);
                }
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
            }
        };
        let head = String::from_utf8(buf[..head_len].to_vec()).unwrap();
        let body = buf[head_len..head_len + body_len].to_vec();
        buf.drain(..head_len + body_len);
        seen.lock().unwrap().push((head, body));
        let i = {
            let mut n = next.lock().unwrap();
            *n += 1;
            *n - 1
        };
        let (parts, close) = &script[i % script.len()];
        for part in parts {
            if stream.write_all(part).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if *close {
            return;
        }
    }
}

async fn run(client: ClientKind, requests: u64) -> (loadtest::RunReport, Seen) {
    let (addr, seen) = raw_server().await;
    let mut config = Config::new(format!("http://{addr}/invocations"));
    config.client = client;
    config.connections = 1;
    config.bounds.max_requests = Some(requests);
    config.timeout = Duration::from_secs(5);
    let payload = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(payload.path(), "{\"text\": \"soft \\\"fabric\\\"\"}\n").unwrap();
    config.payload.source = PayloadSource::JsonLines {
        path: payload.path().to_path_buf(),
        field: "text".into(),
    };
    let report = loadtest::run(&config).await.unwrap();
    (report.run.unwrap(), seen)
}

async fn every_framing_is_read(client: ClientKind) {
    let (run, seen) = run(client, 12).await;
    assert_eq!(run.requests.completed, 12, "{client:?}: {:?}", run.errors);
    assert_eq!(run.requests.failed, 0);
    let status = |s: &str| run.status_codes.get(s).copied().unwrap_or(0);
    assert_eq!(
        (status("200"), status("201"), status("204"), status("503")),
        (6, 2, 2, 2),
        "{:?}",
        run.status_codes
    );
    assert_eq!(run.variants["A"].count, 2);
    assert_eq!(run.variants["B"].count, 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 12);
    for (head, body) in seen.iter() {
        let lower = head.to_ascii_lowercase();
        assert!(head.starts_with("POST /invocations HTTP/1.1\r\n"), "{head}");
        assert!(lower.contains("\r\nhost: 127.0.0.1:"), "{head}");
        assert!(
            lower.contains("\r\ncontent-type: application/json\r\n"),
            "{head}"
        );
        assert_eq!(body, br#"{"instances":["soft \"fabric\""]}"#);
    }
    let sent: usize = seen.iter().map(|(h, b)| h.len() + b.len()).sum();
    assert_eq!(run.bytes.sent, sent as u64, "{client:?}: bytes sent");
}

#[tokio::test]
async fn lean_client_reads_every_framing() {
    every_framing_is_read(ClientKind::Lean).await;
    // The lean client counts the exact bytes received.
    let (run, _) = run(ClientKind::Lean, 6).await;
    let received: usize = script()
        .iter()
        .flat_map(|(parts, _)| parts.iter().map(|p| p.len()))
        .sum();
    assert_eq!(run.bytes.received, received as u64);
}

#[tokio::test]
async fn hyper_client_reads_every_framing() {
    every_framing_is_read(ClientKind::Hyper).await;
}

#[tokio::test]
async fn malformed_responses_are_io_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let replies: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        ];
        let mut i = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut chunk = [0u8; 4096];
            let _ = stream.read(&mut chunk).await;
            let _ = stream.write_all(replies[i % replies.len()]).await;
            i += 1;
            // Closing cuts the short body off.
        }
    });
    for client in [ClientKind::Lean, ClientKind::Hyper] {
        let mut config = Config::new(format!("http://{addr}/"));
        config.client = client;
        config.connections = 1;
        config.bounds.max_requests = Some(3);
        config.timeout = Duration::from_secs(5);
        let run = loadtest::run(&config).await.unwrap().run.unwrap();
        assert_eq!(run.requests.completed, 0, "{client:?}");
        assert_eq!(run.errors.io, 3, "{client:?}: {:?}", run.errors);
    }
}
