//! What the process-level tests share: the `sentio` binary with a clean environment, a
//! `sentio serve` child that is stopped (SIGTERM, then SIGKILL) when dropped, and a plain
//! HTTP/1.1 client.
#![allow(dead_code)]
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const SENTIO: &str = env!("CARGO_BIN_EXE_sentio");

/// `sentio` without the SENTIO_* settings of whoever runs the tests.
pub fn command() -> Command {
    let mut c = Command::new(SENTIO);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("SENTIO_") {
            c.env_remove(&k);
        }
    }
    c.env("SENTIO_LOG", "warn");
    c
}

pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `sentio ARGS` in `cwd`; panics (with its output) unless it succeeds.
pub fn sentio_ok(args: &[&str], cwd: &Path) -> String {
    let out = command()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run sentio");
    assert!(out.status.success(), "sentio {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `sentio serve` child process.
pub struct Server {
    pub port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Server {
    /// Starts `sentio serve --port P ARGS` and waits (bounded) for /ping to answer 200.
    pub fn start(args: &[&str], cwd: &Path) -> Server {
        let port = free_port();
        let log = cwd.join(format!("serve-{port}.log"));
        let child = command()
            .arg("serve")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .env("SENTIO_LOG", "info")
            .current_dir(cwd)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start sentio serve");
        let mut s = Server { port, child, log };
        for _ in 0..1200 {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("sentio serve exited ({status}):\n{}", s.log());
            }
            if http(port, "GET", "/ping", &[], "").0 == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sentio serve did not answer /ping:\n{}", s.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(self.port, method, path, headers, body)
    }

    /// A JSON answer of a call that must succeed.
    pub fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> serde_json::Value {
        let (status, text) = self.call(method, path, headers, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 request; `(status, body)`, status 0 when nothing answered.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut resp = String::new();
    if s.read_to_string(&mut resp).is_err() {
        return (0, String::new());
    }
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

/// Polls `f` (bounded: `tries` × 200 ms) until it gives a value.
pub fn wait_for<T>(what: &str, tries: usize, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..tries {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("gave up waiting for {what}");
}

/// A home with v1 registered (Approved) by the default pipeline on generated reviews.
pub fn home_with_v1(dir: &Path) -> String {
    let data = dir.join("reviews.csv");
    train::demo::write_csv(&data, 600, 7).unwrap();
    let home = dir.join("home").display().to_string();
    let input = format!("input_data={}", data.display());
    let out = sentio_ok(
        &[
            "pipeline",
            "run",
            "--home",
            &home,
            "-p",
            &input,
            "-p",
            "epochs=6",
            "-p",
            "dim=32",
            "-p",
            "device=cpu",
            "-p",
            "min_accuracy=0.0",
            "-p",
            "auto_approve=true",
            "-p",
            "max_duplicate_share=0.5",
        ],
        dir,
    );
    assert!(out.contains("sentiment/1"), "{out}");
    home
}

/// The registered versions (`sha256-…`), from `sentio registry list --json`.
pub fn versions(home: &str, dir: &Path) -> Vec<String> {
    let out = sentio_ok(&["registry", "list", "--home", home, "--json"], dir);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = v
        .as_array()
        .or_else(|| v["versions"].as_array())
        .expect("a list of versions");
    list.iter()
        .map(|x| x["version"].as_str().unwrap().to_string())
        .collect()
}
