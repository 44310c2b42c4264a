//! A home filled by real runs of the default pipeline on generated reviews, and a real
//! endpoint ("demo", variants A and B) serving its first version with capture, feedback,
//! an experiment and drift reports, recorded in the home as `sentio serve` records it.
use super::TOKEN;
use pipeline::store::{EndpointRecord, ModelVersion};
use pipeline::{Home, Stores};
use serve::{
    CatalogError, DeploymentRecord, ModelCatalog, ResolvedModel, VariantSource, VariantSpec,
};
use std::net::SocketAddr;
use std::path::PathBuf;

pub struct Runs {
    pub dir: tempfile::TempDir,
    pub home: Home,
    pub stores: Stores,
    /// Auto-approved (served by the endpoint).
    pub v1: ModelVersion,
    /// Pending manual approval (another seed).
    pub v2: ModelVersion,
    /// The three executions: v1's, v2's, and one that failed the quality gate.
    pub executions: [String; 3],
}

fn run(
    home: &Home,
    stores: &Stores,
    data: &std::path::Path,
    extra: &[(&str, &str)],
) -> pipeline::DefaultRun {
    let cfg = pipeline::ExecutorConfig::new(home.clone());
    let mut o: Vec<(String, String)> = [("device", "cpu"), ("epochs", "3"), ("min_accuracy", "0")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    o.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    pipeline::run_default_pipeline(&cfg, stores, data, &o).expect("pipeline runs")
}

/// Three executions: v1 (auto-approved), v2 (pending; another seed), and a run whose
/// quality gate fails (steps answered from the cache, then the fail step).
pub fn runs() -> Runs {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("reviews.csv");
    train::demo::write_csv(&data, 900, 7).unwrap();
    let home = Home::new(dir.path().join("home"));
    let stores = home.open_stores().unwrap();
    let r1 = run(&home, &stores, &data, &[("auto_approve", "true")]);
    let r2 = run(&home, &stores, &data, &[("seed", "7")]);
    let r3 = run(
        &home,
        &stores,
        &data,
        &[("auto_approve", "true"), ("min_accuracy", "1.01")],
    );
    assert_eq!(r3.execution.status, pipeline::ExecutionStatus::Failed);
    let executions = [
        r1.execution.id.clone(),
        r2.execution.id.clone(),
        r3.execution.id,
    ];
    let registered = |r: pipeline::DefaultRun, name: &str| {
        let e = &r.execution;
        r.version
            .unwrap_or_else(|| panic!("{name} not registered: {e:#?}"))
    };
    let v1 = registered(r1, "v1");
    let v2 = registered(r2, "v2");
    assert_ne!(v1.version, v2.version);
    Runs {
        executions,
        dir,
        home,
        stores,
        v1,
        v2,
    }
}

/// Resolves `registry:GROUP:N` through the home's registry and appends deployments to its
/// history (what the binary's registry catalog does; serve cannot depend on pipeline).
struct RegistryCatalog(Stores);

impl ModelCatalog for RegistryCatalog {
    fn resolve(&self, reference: &str, force: bool) -> Result<ResolvedModel, CatalogError> {
        let rest = reference
            .strip_prefix("registry:")
            .ok_or_else(|| CatalogError::NotFound(reference.into()))?;
        let (group, n) = rest
            .split_once(':')
            .ok_or_else(|| CatalogError::NotFound(reference.into()))?;
        let (path, version) = self
            .0
            .registry()
            .resolve_for_deployment(group, Some(&format!("{group}/{n}")), force)
            .map_err(|e| CatalogError::Other(e.to_string()))?;
        Ok(ResolvedModel {
            path,
            version: Some(version),
        })
    }

    fn record_deployment(&self, r: &DeploymentRecord) -> Result<(), CatalogError> {
        if r.outcome == "succeeded" && matches!(r.action.as_str(), "create" | "deploy" | "add") {
            if let Some(v) = &r.model_version {
                let _ = self
                    .0
                    .registry()
                    .record_deployment(&r.endpoint, &r.variant, v, false);
            }
        }
        Ok(())
    }
}

pub struct Endpoint {
    pub addr: SocketAddr,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub capture: PathBuf,
    pub state: PathBuf,
    pub monitor: PathBuf,
}

/// Starts endpoint "demo" (A and B both serving v1) with capture, a state folder holding
/// experiment "ab-1", and records it in the home.
pub async fn endpoint(r: &Runs) -> Endpoint {
    let root = r.home.root();
    let (capture, state, monitor) = (
        root.join("capture"),
        root.join("state"),
        root.join("monitor").join("demo"),
    );
    let reference = format!("registry:{}:{}", r.v1.group, r.v1.number);
    let spec = |name: &str| VariantSpec {
        name: name.into(),
        source: VariantSource::Model(reference.clone()),
        weight: 1.0,
    };
    let mut c = serve::ServeConfig::new(vec![spec("A"), spec("B")]);
    c.endpoint_name = "demo".into();
    c.admin_token = Some(secrecy::SecretString::from(TOKEN));
    c.catalog = std::sync::Arc::new(RegistryCatalog(r.stores.clone()));
    c.capture = Some(serve::capture::CaptureConfig::new(&capture));
    c.state_dir = Some(state.clone());
    c.device = tch::Device::Cpu;
    let mut x =
        monitoring::experiment::Experiment::new("ab-1", "demo", vec!["A".into(), "B".into()])
            .unwrap();
    x.started_at -= chrono::Duration::minutes(5);
    monitoring::experiment::ExperimentStore::new(&state)
        .create(&x)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::run(c, listener, async {
        let _ = rx.await;
    }));
    super::eventually("the endpoint to be ready", 120, || async move {
        (super::get(addr, "/ping").await.status == 200).then_some(())
    })
    .await;
    r.stores
        .metadata
        .record_endpoint(&EndpointRecord {
            name: "demo".into(),
            url: format!("http://{addr}"),
            pid: std::process::id(),
            started_at: pipeline::store::now(),
            stopped_at: None,
            management: true,
            capture_dir: Some(capture.join("demo")),
            state_dir: Some(state.clone()),
            monitor_dir: Some(monitor.clone()),
        })
        .unwrap();
    Endpoint {
        addr,
        stop: Some(tx),
        capture,
        state,
        monitor,
    }
}

const TEXTS: [(&str, &str); 4] = [
    (
        "I love this dress, the fabric is so soft and it fits perfectly.",
        "positive",
    ),
    (
        "The seams came apart after one wash. Very disappointed.",
        "negative",
    ),
    ("It is okay, nothing special, runs a bit large.", "neutral"),
    (
        "Beautiful colour and great quality, I bought two.",
        "positive",
    ),
];

/// Sends `n` invocations and posts ground truth for each; returns how many answered 200.
pub async fn traffic(addr: SocketAddr, n: usize) -> usize {
    let mut ok = 0;
    let mut feedback = Vec::new();
    for i in 0..n {
        let (text, label) = TEXTS[i % TEXTS.len()];
        let body = serde_json::json!({ "text": text }).to_string();
        let r = super::send(
            addr,
            hyper::Method::POST,
            "/invocations",
            &[("content-type", "application/json")],
            body,
        )
        .await;
        if r.status == 200 {
            ok += 1;
            if let Some(id) = r.json()["inference_id"].as_str() {
                feedback.push(serde_json::json!({ "inferenceId": id, "label": label }));
            }
        }
    }
    let r = super::send(
        addr,
        hyper::Method::POST,
        "/feedback",
        &[("content-type", "application/json")],
        serde_json::Value::Array(feedback).to_string(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    ok
}

/// Runs the drift monitor over variant A's captures twice (two runs in A's series).
pub fn drift_reports(r: &Runs, e: &Endpoint) {
    let package = r.stores.artifacts.fetch(&r.v1.artifact_digest).unwrap();
    for run in ["2025-01-01T00", "2025-01-01T01"] {
        let cfg = monitoring::drift::MonitorConfig {
            capture_dir: e.capture.join("demo").join("A"),
            baselines: monitoring::drift::Baselines::One {
                baseline_dir: package.join("baseline"),
                model_dir: Some(package.clone()),
            },
            window: None,
            thresholds: monitoring::drift::Thresholds {
                min_samples: 5,
                ..Default::default()
            },
            out_dir: e.monitor.join("A").join(run),
            threads: 1,
        };
        monitoring::drift::run_once(&cfg).expect("drift run");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
