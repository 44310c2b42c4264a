//! Real servers for the tests: a throwaway PostgreSQL cluster (Debian's `postgresql`:
//! `initdb` + `pg_ctl` as an unprivileged user, on a free loopback port) and `moto_server`
//! (PyPI `moto[server]`, an S3-compatible API) on loopback. Each is started once per test
//! binary; a watchdog process (in its own session) stops it and removes its files when the
//! test process ends, however it ends. Each test takes a fresh database and bucket.
//!
//! Missing binaries fail the test with a message naming `scripts/setup.sh`, which installs
//! them; nothing is skipped.
#![allow(dead_code)]
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a server gets to start on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn output(cmd: &mut Command) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Stops `stop` (a shell command) once this process is gone.
#[allow(clippy::zombie_processes)] // it outlives this process by design
fn watchdog(stop: &str) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}",
        pid = std::process::id()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the servers' watchdog (setsid, sh)");
}

/// A PostgreSQL cluster of this test process.
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
}

/// The server binaries' folder (with createdb and psql): the one of `initdb` on PATH
/// (links followed), or Debian's /usr/lib/postgresql/<v>/bin.
fn pg_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter_map(|d| std::fs::canonicalize(d.join("initdb")).ok())
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .find(|d| d.join("pg_ctl").is_file() && d.join("createdb").is_file())
    });
    if let Some(p) = on_path {
        return p;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, b): &(u32, PathBuf)| b.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: run scripts/setup.sh (it installs Debian's postgresql)")
    })
}

/// The user the server runs as: this one, or `postgres` (else `nobody`) when this is root
/// (PostgreSQL refuses to run as root).
fn pg_user() -> Option<String> {
    if output(Command::new("id").arg("-u")) != "0" {
        return None;
    }
    for u in ["postgres", "nobody"] {
        if Command::new("id")
            .arg(u)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Some(u.to_string());
        }
    }
    panic!("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as");
}

fn as_user(user: &Option<String>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

impl Postgres {
    fn start() -> Postgres {
        let bin = pg_bin();
        let user = pg_user();
        let dir = tempfile::Builder::new()
            .prefix("sentio-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let data = dir.join("data");
        if let Some(u) = &user {
            let ok = Command::new("chown")
                .arg(format!("{u}:"))
                .arg(&dir)
                .status();
            assert!(
                ok.is_ok_and(|s| s.success()),
                "chown {} to {u}",
                dir.display()
            );
        }
        let stop = format!(
            "{} -D {} stop -m immediate; rm -rf {}",
            as_user_prefix(&user, &bin.join("pg_ctl")),
            data.display(),
            dir.display()
        );
        watchdog(&stop);
        let init = as_user(&user, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "sentio",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("running initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        for _attempt in 0..5 {
            let port = free_port();
            let opts = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                dir.display()
            );
            let started = as_user(&user, &bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log"))
                .args([
                    "-w",
                    "-t",
                    &START_TIMEOUT.as_secs().to_string(),
                    "-o",
                    &opts,
                    "start",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("running pg_ctl");
            if started.success() {
                return Postgres { port, bin, dir };
            }
        }
        panic!(
            "PostgreSQL did not start; its log:\n{}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "sentio",
                &name,
            ])
            .output()
            .expect("running createdb");
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(&name)
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://sentio@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with psql against the database at `url`.
    pub fn sql(&self, url: &str, sql: &str) -> String {
        self.try_sql(url, sql)
            .unwrap_or_else(|e| panic!("psql: {e}"))
    }

    /// Runs SQL with psql; its output, or its error message.
    pub fn try_sql(&self, url: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
            .output()
            .expect("running psql");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

fn as_user_prefix(user: &Option<String>, program: &Path) -> String {
    match user {
        Some(u) => format!("runuser -u {u} -- {}", program.display()),
        None => program.display().to_string(),
    }
}

/// The cluster of this test process (started at the first call).
pub fn postgres() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

/// `moto_server` of this test process.
pub struct Moto {
    pub port: u16,
}

/// `moto_server` from the project's .venv (scripts/setup.sh), else from PATH.
fn moto_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("SENTIO_VENV")
        .map(|v| PathBuf::from(v).join("bin/moto_server"))
        .into_iter()
        .collect();
    for up in root.ancestors().take(3) {
        candidates.push(up.join(".venv/bin/moto_server"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("moto_server")));
    }
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("moto_server not found in .venv or on PATH: run scripts/setup.sh (it installs moto[server] into .venv)")
    })
}

impl Moto {
    #[allow(clippy::zombie_processes)] // the server lives as long as this process
    fn start() -> Moto {
        let bin = moto_bin();
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            watchdog(&format!("kill {}", child.id()));
            let deadline = Instant::now() + START_TIMEOUT;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break; // exited: the port was taken meanwhile; try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let m = Moto { port };
                    if m.request("GET", "/", b"").is_ok() {
                        return m;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start ({})", bin.display());
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An unsigned request (moto does not check signatures); the status line and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )?;
        s.write_all(body)?;
        let mut all = Vec::new();
        s.read_to_end(&mut all)?;
        let text = String::from_utf8_lossy(&all);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = match all.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => all[i + 4..].to_vec(),
            None => Vec::new(),
        };
        Ok((status, body))
    }

    /// A new, empty bucket; its name.
    pub fn fresh_bucket(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let (status, body) = self
            .request("PUT", &format!("/{name}"), b"")
            .expect("creating a bucket");
        assert_eq!(
            status,
            200,
            "creating bucket {name}: {}",
            String::from_utf8_lossy(&body)
        );
        name
    }

    /// The object store's settings, as the AWS_* environment variables would give them.
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("AWS_ENDPOINT_URL".to_string(), self.endpoint())])
        .collect()
    }
}

/// The moto server of this test process (started at the first call).
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}
