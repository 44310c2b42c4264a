//! `sentio loadtest`: the table on stdout, live progress on stderr (only
//! when asked or on a terminal, never with --quiet), the report files, and
//! bad input as a one-line error with exit status 1, never a panic.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};

fn sentio(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentio"))
        .arg("loadtest")
        .args(args)
        .env("SENTIO_HOME", home)
        .env("SENTIO_LOG", "warn")
        .env_remove("LOADTEST_BEARER_TOKEN")
        .output()
        .expect("run sentio")
}

/// Answers every request on a keep-alive connection with 200 and a small
/// body; one thread per connection.
fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_connection(stream));
        }
    });
    addr
}

fn serve_connection(stream: TcpStream) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if writer.write_all(response).is_err() {
            return;
        }
    }
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Live progress lines in `stderr`.
fn progress_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('[') && l.contains(" req/s "))
        .map(str::to_string)
        .collect()
}

#[test]
fn writes_the_table_progress_and_report_files() {
    let addr = http_server();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (json, csv, svg) = (path("r.json"), path("r.csv"), path("r.svg"));
    let url = format!("http://{addr}/invocations");
    let out = sentio(
        &[
            &url,
            "--mode",
            "closed",
            "-c",
            "2",
            "-n",
            "200",
            "--threads",
            "1",
            "--progress",
            "--json",
            &json,
            "--timeseries",
            &csv,
            "--svg",
            &svg,
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("loadtest closed loop -> "), "{stdout}");
    assert!(stdout.contains("completed 200"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["mode"], "closed_loop");
    assert!(report["run"]["intended_rate"].is_null());
    assert_eq!(report["run"]["requests"]["completed"], 200);
    // One progress line per second of the series, in order.
    let seconds = report["timeseries"].as_array().unwrap().len();
    let lines = progress_lines(&out);
    assert_eq!(lines.len(), seconds, "{lines:?}");
    assert!(lines[0].starts_with("[    0 s]"), "{lines:?}");

    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms,non_2xx")
    );
    assert_eq!(csv.lines().count(), seconds + 1);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for series in ["throughput", "errors", "p50", "p90", "p99", "max"] {
        assert!(svg.contains(&format!("id=\"series-{series}\"")), "{series}");
    }
}

#[test]
fn progress_is_off_with_quiet_or_when_stderr_is_not_a_terminal() {
    let addr = http_server();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/");
    let base = [url.as_str(), "--mode", "closed", "-c", "1", "-n", "20"];
    // Here stderr is a pipe: no progress unless --progress.
    let out = sentio(&base, dir.path());
    assert!(out.status.success(), "{out:?}");
    assert!(progress_lines(&out).is_empty(), "{out:?}");
    let quiet: Vec<&str> = base.iter().copied().chain(["--quiet"]).collect();
    let out = sentio(&quiet, dir.path());
    assert!(out.status.success(), "{out:?}");
    assert!(progress_lines(&out).is_empty(), "{out:?}");
    // --quiet and --progress contradict each other: a usage error.
    let both: Vec<&str> = quiet.iter().copied().chain(["--progress"]).collect();
    assert_eq!(sentio(&both, dir.path()).status.code(), Some(2));
}

#[test]
fn bad_input_fails_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fails_with(
        &sentio(
            &[
                "http://127.0.0.1:9/",
                "-d",
                "1s",
                "--payload",
                "/nonexistent.csv",
            ],
            d,
        ),
        "/nonexistent.csv",
    );
    fails_with(
        &sentio(&["http://127.0.0.1:9/", "-r", "0", "-d", "1s"], d),
        "rate",
    );
    fails_with(&sentio(&["ftp://127.0.0.1:9/", "-d", "1s"], d), "ftp");
    fails_with(&sentio(&["http://127.0.0.1:9/"], d), "duration");
    fails_with(
        &sentio(&["http://127.0.0.1:9/", "-d", "1s", "-H", "no colon"], d),
        "\"no colon\"",
    );
    // A malformed duration is a usage error (clap's exit status 2).
    let out = sentio(&["http://127.0.0.1:9/", "-d", "fast"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid duration"));
    // A target nobody answers: the run completes, then reports failure.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    fails_with(
        &sentio(&[&url, "--mode", "closed", "-n", "2", "-c", "1"], d),
        "no response",
    );
}

#[test]
fn help_shows_every_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = sentio(&["--help"], dir.path());
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for shown in [
        "[default: open]",
        "[default: 100]",
        "[default: 16]",
        "[default: 30s]",
        "[default: lean]",
        "[default: \"Review Text\"]",
        "[default: round-robin]",
        "[default: json]",
        "[default: POST]",
        "[default: X-Sentio-Session]",
        "[default: 5s]",
        "[default: 100ms]",
        "[default: 0.95]",
        "--quiet",
        "--progress",
    ] {
        assert!(help.contains(shown), "{shown} missing from:\n{help}");
    }
}
