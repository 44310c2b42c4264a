//! The second half of `sentio demo`: the closed loop on a real `sentio serve` process. The
//! endpoint serves the registered version with data capture, a drift monitor every two
//! seconds, retraining from the version's lineage with the ground truth sent to
//! `/feedback`, a canary and automatic promotion at the A/B experiment's verdict. The demo
//! sends it reviews of a product line the model never saw, with their true labels, and
//! prints what the loop does until the retrained version serves all traffic.
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "demo-admin-token";
/// How long each stage may take before the demo gives up (a slow machine trains slowly).
const PATIENCE: Duration = Duration::from_secs(900);

/// A `sentio serve` child, stopped with SIGTERM (then killed) when dropped.
struct Endpoint {
    child: Child,
    base: String,
    rt: tokio::runtime::Runtime,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
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

impl Endpoint {
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> anyhow::Result<(u16, String)> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        self.rt.block_on(async {
            let resp = self.client.request(req).await?;
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
        })
    }

    /// `(variant, model version)` of each variant.
    fn variants(&self) -> anyhow::Result<Vec<(String, String)>> {
        let auth = format!("Bearer {TOKEN}");
        let (status, body) = self.call(
            "GET",
            "/v1/admin/endpoint",
            &[("authorization", &auth)],
            String::new(),
        )?;
        anyhow::ensure!(
            status == 200,
            "GET /v1/admin/endpoint answered {status}: {body}"
        );
        let v: serde_json::Value = serde_json::from_str(&body)?;
        Ok(v["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                (s("name"), s("model_version"))
            })
            .collect())
    }

    /// Invokes the endpoint with drifted reviews `range` (at one variant, if given) and
    /// sends their true labels to `/feedback`.
    fn drift_with_truth(
        &self,
        range: std::ops::Range<usize>,
        target: Option<&str>,
    ) -> anyhow::Result<()> {
        let ids: Vec<usize> = range.collect();
        for chunk in ids.chunks(20) {
            let mut truth = Vec::new();
            for &i in chunk {
                let (text, label) = train::demo::realistic::drifted(i);
                let id = format!("demo-{i}");
                let mut headers = vec![
                    ("content-type", "application/json"),
                    ("x-amzn-sagemaker-inference-id", id.as_str()),
                ];
                if let Some(t) = target {
                    headers.push(("x-amzn-sagemaker-target-variant", t));
                }
                let body = serde_json::json!({ "text": text }).to_string();
                let (status, answer) = self.call("POST", "/invocations", &headers, body)?;
                anyhow::ensure!(status == 200, "/invocations answered {status}: {answer}");
                truth.push(serde_json::json!({ "inferenceId": id, "label": label }));
            }
            let body = serde_json::Value::Array(truth).to_string();
            let json = [("content-type", "application/json")];
            let (status, answer) = self.call("POST", "/feedback", &json, body)?;
            anyhow::ensure!(status == 202, "/feedback answered {status}: {answer}");
        }
        Ok(())
    }
}

/// Polls `f` every half second until it yields a value, or fails after [`PATIENCE`].
fn wait_for<T>(
    what: &str,
    log: &Path,
    mut f: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if started.elapsed() > PATIENCE {
            anyhow::bail!(
                "{what} did not happen within {} s; see {}",
                PATIENCE.as_secs(),
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs the loop on the home's approved `sentiment` version; `dir` holds the capture,
/// state, monitor reports and the endpoint's log.
pub fn run(dir: &Path, home: &pipeline::Home, device: &str) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = dir.join("loop-endpoint.log");
    let home_arg = home.root().display().to_string();
    let child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .args(["--home", &home_arg, "--model", "registry:sentiment"])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--device", device, "--endpoint-name", "demo-loop"])
        .args(["--capture-dir", "capture", "--state-dir", "state"])
        .args([
            "--monitor-interval-secs",
            "2",
            "--monitor-min-samples",
            "200",
        ])
        .args(["--monitor-retrain-home", &home_arg])
        .args(["--retrain-with-feedback", "--retrain-auto-approve"])
        .args(["--deploy", "canary:20", "--auto-promote"])
        .args(["--canary-min-samples", "30"])
        .env("SENTIO_ADMIN_TOKEN", TOKEN)
        .env("SENTIO_LOG", "info")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let mut ep = Endpoint {
        child,
        base: format!("http://127.0.0.1:{port}"),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http(),
    };
    wait_for("the endpoint's start", &log, || {
        if let Some(status) = ep.child.try_wait()? {
            anyhow::bail!("sentio serve exited ({status}); see {}", log.display());
        }
        let ready = ep.call("GET", "/ping", &[], String::new());
        Ok(ready.is_ok_and(|(s, _)| s == 200).then_some(()))
    })?;
    let v1 = ep.variants()?;
    println!(
        "5. the closed loop: {} serves {} with capture, a drift monitor every 2 s, retraining\n   from lineage with /feedback's ground truth, a 20 % canary and promotion at the A/B\n   verdict (endpoint log: {})",
        ep.base,
        v1.first().map(|v| v.1.as_str()).unwrap_or("?"),
        log.display()
    );

    let started = Instant::now();
    ep.drift_with_truth(0..300, None)?;
    println!(
        "   sent 300 reviews of camping gear (the model learnt on clothing) and their true labels"
    );
    let v2 = wait_for("retraining and the canary", &log, || {
        Ok(ep.variants()?.into_iter().find(|v| v.0 == "canary"))
    })?;
    println!(
        "   {:.0} s later: drift flagged (report: {}), retrained from v1's lineage with the\n   300 labels, gated, registered and deployed as canary: {}",
        started.elapsed().as_secs_f64(),
        dir.join("monitor/demo-loop").display(),
        v2.1
    );

    let started = Instant::now();
    ep.drift_with_truth(300..340, Some("AllTraffic"))?;
    ep.drift_with_truth(340..380, Some("canary"))?;
    println!("   sent 40 more labelled reviews to each variant");
    wait_for("the promotion", &log, || {
        let vs = ep.variants()?;
        Ok((vs.len() == 1 && vs[0].1 == v2.1).then_some(()))
    })?;
    println!(
        "   {:.0} s later: the experiment's verdict promoted {} to AllTraffic; the canary is retired",
        started.elapsed().as_secs_f64(),
        v2.1
    );
    let stores = home.open_stores()?;
    println!("6. the registry's history of sentiment (sentio registry history --home {home_arg}):");
    for e in stores.metadata.events(Some("sentiment"), None)? {
        let short = e.version.get(..15).unwrap_or(&e.version);
        let on = match (e.endpoint, e.variant) {
            (Some(ep), Some(v)) => format!(" on {ep}/{v}"),
            _ => String::new(),
        };
        println!("   {}  {:<10} {short}…{on}", e.at, e.event);
    }
    drop(ep);
    Ok(())
}
