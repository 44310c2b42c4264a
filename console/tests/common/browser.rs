//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! installed by scripts/setup.sh). Missing browsers fail the test: they are not optional.
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// The chromedriver process; killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a free loopback port and waits until it answers.
pub async fn driver() -> Driver {
    let bin = find(&["chromedriver"]).unwrap_or_else(|| {
        panic!("chromedriver is not installed: run scripts/setup.sh (Debian packages chromium and chromium-driver)")
    });
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        for _ in 0..150 {
            if let Ok(Some(_)) = child.try_wait() {
                break; // the port was taken meanwhile: try another
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Driver {
                    child,
                    url: format!("http://{addr}/"),
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
    }
    panic!("chromedriver did not start");
}

/// A headless Chromium session that keeps the browser's console log.
pub async fn session(d: &Driver) -> Client {
    let chromium = find(&["chromium", "chromium-browser"]).unwrap_or_else(|| {
        panic!("chromium is not installed: run scripts/setup.sh (Debian packages chromium and chromium-driver)")
    });
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1100", "--no-first-run", "--disable-extensions"]
        },
        "goog:loggingPrefs": { "browser": "ALL" }
    });
    let caps = caps.as_object().unwrap().clone();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("a Chromium session")
}

/// chromedriver's browser log (console messages, uncaught errors, failed loads) since the
/// last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (hyper::Method, Option<String>) {
        (
            hyper::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// Log entries at level SEVERE (errors) since the last read.
pub async fn errors(c: &Client) -> Vec<String> {
    let v = c.issue_cmd(BrowserLog).await.expect("browser log");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Where screenshots go (under target/, not committed).
pub fn screenshot_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Opens `url`, waits for the page, checks the console has no errors and saves a
/// screenshot. Returns the page's HTML.
pub async fn open(c: &Client, url: &str, name: &str) -> String {
    c.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("footer"))
        .await
        .unwrap_or_else(|e| panic!("{url} did not load: {e}"));
    let errs = errors(c).await;
    assert!(errs.is_empty(), "{url}: console errors: {errs:?}");
    screenshot(c, name).await;
    c.source().await.unwrap()
}

/// The number of `selector` elements on the page.
pub async fn count(c: &Client, selector: &str) -> usize {
    c.find_all(Locator::Css(selector))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}
