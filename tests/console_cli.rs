//! `sentio console` and the endpoint record `sentio serve` leaves in the home: a served
//! model shows up in the console without flags, and the record says when it stopped.
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sentio(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sentio"));
    c.args(args)
        .env("SENTIO_LOG", "warn")
        .env_remove("SENTIO_HOME");
    c
}

/// GET over a fresh connection (HTTP/1.0: the server closes when done).
fn get(base: &str, path: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn terminate(c: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status()
        .unwrap();
    c.wait().unwrap()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_home_without_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = sentio(&["console", "--home", &dir.path().display().to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a Sentio home"), "{err}");
    let o = sentio(&[
        "console",
        "--home",
        &dir.path().display().to_string(),
        "--endpoint",
        "nourl",
    ])
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bad --endpoint is a usage error"
    );
}

fn train(d: &Path) -> String {
    let data = d.join("reviews.csv");
    train::demo::write_csv(&data, 600, 11).unwrap();
    let model = d.join("model").display().to_string();
    let o = sentio(&[
        "train",
        "--data",
        &data.display().to_string(),
        "--out",
        &model,
        "--epochs",
        "3",
        "--dim",
        "16",
        "--device",
        "cpu",
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    model
}

#[test]
fn a_served_endpoint_records_itself_and_the_console_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train(d);
    let home = pipeline::Home::new(d.join("home"));
    let stores = home.open_stores().unwrap();
    let home_s = home.root().display().to_string();
    let mut serve = Killed(
        sentio(&[
            "serve",
            "--home",
            &home_s,
            "--model",
            &model,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--endpoint-name",
            "cli",
            "--device",
            "cpu",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let url = wait_for("the endpoint's record", || {
        stores
            .metadata
            .endpoints()
            .unwrap()
            .into_iter()
            .find(|e| e.name == "cli")
            .map(|e| e.url)
    });
    wait_for("the endpoint to be ready", || {
        (get(&url, "/ping").0 == 200).then_some(())
    });

    let mut console = Killed(
        sentio(&["console", "--home", &home_s, "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(console.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("console on ")
        .expect(&line)
        .trim_end_matches('/')
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (status, body) = get(&base, "/api/endpoints");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let e = &v["endpoints"][0];
    assert_eq!(
        (e["name"].as_str(), e["reachable"].as_bool()),
        (Some("cli"), Some(true)),
        "{v}"
    );
    assert_eq!(e["variants"][0]["name"], "AllTraffic");
    assert!(
        !body.contains(&d.display().to_string()),
        "the console shows a path: {body}"
    );

    assert!(terminate(&mut serve.0).success());
    let rec = stores.metadata.endpoints().unwrap().remove(0);
    assert!(rec.stopped_at.is_some(), "{rec:?}");
    let (_, body) = get(&base, "/api/endpoints");
    assert!(body.contains("\"stopped\":true"), "{body}");
    assert!(terminate(&mut console.0).success());
}
