//! `sentio demo`: the whole flow on built-in demo data — generate reviews, run the
//! pipeline (validate → process → train → evaluate → gate → register, auto-approved),
//! start the endpoint on the registered version and send it real predictions; then the
//! closed loop on a real endpoint process (`demo_loop`): drifted traffic with ground
//! truth → drift flagged → retraining from lineage → canary → verdict → promotion.
use super::catalog::RegistryCatalog;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct DemoArgs {
    /// Working directory for the demo's data, metadata store and models.
    #[arg(long, default_value = "demo-out")]
    pub dir: PathBuf,
    /// Synthetic reviews to generate.
    #[arg(long, default_value_t = 3000)]
    pub rows: usize,
    /// auto (CUDA when available), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
    /// Stop after the first endpoint's predictions (skip the closed loop).
    #[arg(long)]
    pub no_loop: bool,
}

const SAMPLES: [&str; 3] = [
    "I love this dress, the fabric is so soft and it fits perfectly.",
    "The seams came apart after one wash. Very disappointed.",
    "It is okay, nothing special, runs a bit large.",
];

pub fn run(mut a: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    // Absolute: the loop's endpoint process runs in this folder and is given these paths.
    a.dir = std::path::absolute(&a.dir)?;
    // Each run starts afresh: the demo's own home, capture, state and reports go.
    for owned in ["home", "capture", "state", "monitor"] {
        let p = a.dir.join(owned);
        if p.exists() {
            std::fs::remove_dir_all(&p)?;
        }
    }
    let data = a.dir.join("demo_reviews.csv");
    train::demo::write_realistic_csv(&data, a.rows, 7)?;
    println!(
        "1. generated {} synthetic clothing reviews in {}",
        a.rows,
        data.display()
    );

    let home = pipeline::Home::new(a.dir.join("home"));
    let cfg = pipeline::ExecutorConfig::new(home.clone());
    let stores = home.open_stores()?;
    let device = match a.device {
        models::DeviceChoice::Auto => "auto",
        models::DeviceChoice::Cpu => "cpu",
        models::DeviceChoice::Cuda => "cuda",
    };
    let overrides = [
        ("auto_approve".to_string(), "true".to_string()),
        ("device".to_string(), device.to_string()),
    ];
    let started = std::time::Instant::now();
    let run = pipeline::run_default_pipeline(&cfg, &stores, &data, &overrides)?;
    println!(
        "2. pipeline execution {} {:?} in {:.1} s:",
        run.execution.id,
        run.execution.status,
        started.elapsed().as_secs_f64()
    );
    for s in &run.execution.steps {
        println!("   {:<13} {:?}", s.name, s.status);
    }
    let version = run
        .version
        .ok_or_else(|| anyhow::anyhow!("the pipeline registered no model version"))?;
    let metric = |k: &str| version.metrics[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "3. registered {}/{} ({}), {:?}: test balanced accuracy {:.3}, macro-F1 {:.3}",
        version.group,
        version.number,
        version.version,
        version.status,
        metric("balanced_accuracy"),
        metric("macro_f1")
    );
    println!(
        "   (lineage: sentio lineage {} --home {})",
        version.version,
        home.root().display()
    );

    let reference = format!("registry:{}:{}", version.group, version.number);
    let responses = serve_and_ask(&home, &stores, &reference, a.device)?;
    println!("4. endpoint on 127.0.0.1 serving {reference}; POST /invocations answered:");
    for (text, (variant, body)) in SAMPLES.iter().zip(responses) {
        println!("   [{variant}] {body}\n      ← {text:?}");
    }
    let reference = if a.no_loop {
        reference
    } else {
        super::demo_loop::run(&a.dir, &home, device)?;
        "registry:sentiment".to_string()
    };
    println!(
        "done. Serve it yourself: sentio serve --home {} --model {reference}",
        home.root().display()
    );
    println!(
        "      and see it all in the console: sentio console --home {} → http://127.0.0.1:8090/",
        home.root().display()
    );
    Ok(())
}

/// Starts the endpoint on a free loopback port, waits for /ping, sends the samples and
/// shuts it down. Returns (invoked variant, body) per sample.
fn serve_and_ask(
    home: &pipeline::Home,
    stores: &pipeline::Stores,
    reference: &str,
    device: models::DeviceChoice,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut config = serve::ServeConfig::new(vec![serve::VariantSpec {
        name: "AllTraffic".into(),
        source: serve::VariantSource::Model(reference.to_string()),
        weight: 1.0,
    }]);
    config.endpoint_name = "demo".into();
    config.device = device.resolve()?;
    config.catalog = Arc::new(RegistryCatalog::with_stores(home.clone(), stores.clone()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve::run(config, listener, async {
            let _ = stop_rx.await;
        }));
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let base = format!("http://{addr}");
        let ready = async {
            loop {
                let req = hyper::Request::get(format!("{base}/ping")).body(Full::default())?;
                if let Ok(r) = client.request(req).await {
                    if r.status() == 200 {
                        return anyhow::Ok(());
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), ready)
            .await
            .map_err(|_| anyhow::anyhow!("the endpoint did not become ready within 60 s"))??;
        let mut out = Vec::new();
        for text in SAMPLES {
            let body = serde_json::json!({ "text": text }).to_string();
            let req = hyper::Request::post(format!("{base}/invocations"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))?;
            let resp = client.request(req).await?;
            let variant = resp
                .headers()
                .get("x-amzn-invoked-production-variant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_string();
            let status = resp.status();
            let bytes = resp.into_body().collect().await?.to_bytes();
            let body = String::from_utf8_lossy(&bytes).to_string();
            if !status.is_success() {
                anyhow::bail!("the endpoint answered {status}: {body}");
            }
            out.push((variant, body));
        }
        let _ = stop_tx.send(());
        server.await??;
        anyhow::Ok(out)
    })
}
