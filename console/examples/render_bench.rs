//! The console's page-render benchmark: a home with 1,000 executions (8 step runs each),
//! 200 model versions with their history, and 30 days of hourly drift reports (720
//! `monitoring_report.json`), generated here through the store and the monitoring types;
//! then every page and its JSON requested one after another from a console on
//! 127.0.0.1:0, reporting p50/p99/max per page. Run by `bench/console.sh`.
//!
//! `cargo run --release -p console@0.1.0 --example render_bench -- [REQUESTS_PER_PAGE]`
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use monitoring::drift::{
    CheckResult, CheckType, DriftTest, FeatureDrift, RunStatus, Severity, Violation,
};
use pipeline::store::*;
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};

const EXECUTIONS: usize = 1000;
const VERSIONS: i64 = 200;
const DAYS: usize = 30;
const STEPS: [(&str, &str); 8] = [
    ("validate", "validate"),
    ("process", "process"),
    ("train", "train"),
    ("evaluate", "evaluate"),
    ("baseline", "baseline"),
    ("quality_gate", "condition"),
    ("register", "register"),
    ("fail", "fail"),
];

fn digest(i: usize, salt: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (i, salt).hash(&mut h);
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        h.finish(),
        h.finish() ^ 1,
        h.finish() ^ 2,
        h.finish() ^ 3
    )
}

fn at(base: chrono::DateTime<chrono::Utc>, secs: i64) -> String {
    (base + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn fill_store(store: &dyn MetadataStore) {
    let def = serde_json::to_value(pipeline::PipelineDef::default_pipeline()).unwrap();
    let start = chrono::Utc::now() - chrono::Duration::days(DAYS as i64);
    let every = (DAYS * 86400 / EXECUTIONS) as i64;
    for i in 0..EXECUTIONS {
        let id = format!("exec-{i:05}");
        let t0 = i as i64 * every;
        let failed = i % 10 == 9;
        let status = if failed {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Succeeded
        };
        let params = json!({"input_data": "/data/reviews.csv", "epochs": 8, "seed": i, "min_accuracy": 0.5, "auto_approve": false});
        store
            .create_execution(&ExecutionRecord {
                id: id.clone(),
                pipeline: "sentiment".into(),
                status: ExecutionStatus::Executing,
                parameters: params.clone(),
                definition: def.clone(),
                code_version: "0.1.0+bench".into(),
                trigger: "schedule".into(),
                pid: 1,
                started_at: at(start, t0),
                ended_at: None,
                failure_reason: None,
                manifest: None,
            })
            .unwrap();
        let mut steps = Vec::new();
        for (k, (name, kind)) in STEPS.iter().enumerate() {
            let skipped = (*name == "fail") != failed && (*name == "fail" || *name == "register");
            let outputs: std::collections::BTreeMap<String, String> =
                [("out".to_string(), digest(i * 10 + k, name))].into();
            let rec = StepRecord {
                id: 0,
                execution_id: id.clone(),
                step: name.to_string(),
                kind: kind.to_string(),
                status: if skipped {
                    StepStatus::Skipped
                } else if k < 2 && i > 0 {
                    StepStatus::Cached
                } else {
                    StepStatus::Succeeded
                },
                cache_key: Some(digest(i * 10 + k, "key")),
                key_parts: Some(
                    json!({"type": kind, "inputs": {"data": digest(i, "in")}, "config": {"epochs": 8}}),
                ),
                cache_decision: Some(format!(
                    "miss: input data changed ({} → {})",
                    &digest(i, "a")[..12],
                    &digest(i, "b")[..12]
                )),
                cached_from: None,
                outputs: outputs.clone(),
                properties: json!({"accuracy": 0.9, "balanced_accuracy": 0.88, "macro_f1": 0.87, "n": 300}),
                started_at: at(start, t0 + k as i64 * 10),
                ended_at: Some(at(start, t0 + k as i64 * 10 + 9)),
                duration_s: Some(9.0),
                log_excerpt: "epoch 1: loss 0.9120, validation macro-F1 0.7012\n".repeat(8),
                failure_reason: None,
            };
            store.insert_step(&rec).unwrap();
            steps.push(json!({"name": name, "type": kind, "status": rec.status, "inputs": {"data": digest(i, "in")},
                "outputs": outputs, "cache_decision": rec.cache_decision, "duration_s": 9.0, "properties": rec.properties}));
        }
        let manifest = json!({"execution": id, "pipeline": "sentiment", "status": status, "steps": steps, "definition": def, "parameters": params});
        let reason =
            failed.then_some("step \"fail\" failed: the model did not pass the quality gate");
        store
            .finish_execution(&id, status, reason, &manifest)
            .unwrap();
    }
    let lineage = |n: i64| {
        let leaf = json!({"digest": digest(n as usize, "data"), "kind": "file"});
        let split = json!({"digest": digest(n as usize, "split"), "step": "process", "output": "train", "execution": "exec-00001", "created_at": "x", "parents": {"dataset": leaf}});
        let model = json!({"digest": digest(n as usize, "model"), "step": "train", "output": "model", "execution": "exec-00001", "created_at": "x", "parents": {"train": split, "validation": split}});
        json!({"data": {"digest": digest(n as usize, "data"), "rows": {"read": 3000, "kept": 2990}}, "architecture": "fast_text",
               "hyperparameters": {"epochs": 8, "learning_rate": 0.5, "dim": 64}, "parents": {"model": model, "evaluation": split},
               "execution": {"id": "exec-00001", "pipeline": "sentiment", "trigger": "schedule", "parameters": {"epochs": 8}}})
    };
    for n in 1..=VERSIONS {
        let version = format!("sha256-{}", digest(n as usize, "version"));
        store
            .register_version(&NewVersion {
                group: "sentiment".into(),
                version: version.clone(),
                artifact_digest: digest(n as usize, "package"),
                status: ApprovalStatus::PendingManualApproval,
                metrics: json!({"accuracy": 0.8 + n as f64 * 1e-4, "balanced_accuracy": 0.78, "macro_f1": 0.77}),
                lineage: lineage(n),
                execution_id: format!("exec-{:05}", n * 5),
                actor: "pipeline".into(),
            })
            .unwrap();
        let to = if n % 7 == 0 {
            ApprovalStatus::Rejected
        } else {
            ApprovalStatus::Approved
        };
        if n % 10 != 1 {
            store
                .transition(
                    &version,
                    ApprovalStatus::PendingManualApproval,
                    to,
                    "reviewer",
                    "checked the report",
                )
                .unwrap();
        }
        if n % 5 == 0 && to == ApprovalStatus::Approved {
            store
                .add_event(&RegistryEvent {
                    id: 0,
                    at: now(),
                    group: "sentiment".into(),
                    version,
                    event: "deployed".into(),
                    from_status: None,
                    to_status: Some("Approved".into()),
                    actor: "serve".into(),
                    note: String::new(),
                    endpoint: Some("bench".into()),
                    variant: Some(if n % 10 == 0 { "A" } else { "B" }.into()),
                })
                .unwrap();
        }
    }
}

fn feature(name: &str, run: usize) -> FeatureDrift {
    let buckets: Vec<String> = (0..12)
        .map(|b| format!("{}–{}", b * 4, b * 4 + 4))
        .collect();
    let base: Vec<f64> = (0..12)
        .map(|b| 100.0 + (b as f64 * 1.7).sin() * 50.0)
        .collect();
    let cur: Vec<f64> = base
        .iter()
        .enumerate()
        .map(|(b, x)| x * (1.0 + ((run + b) % 5) as f64 * 0.05))
        .collect();
    FeatureDrift {
        name: name.into(),
        inferred_type: monitoring::baseline::InferredType::Fractional,
        count: 5000,
        psi: 0.02 + (run % 24) as f64 * 0.01,
        js_distance: 0.05,
        test: DriftTest::Ks,
        statistic: 0.04,
        p_value: 0.2,
        severity: Severity::None,
        drift: false,
        buckets,
        baseline_counts: base,
        current_counts: cur,
    }
}

fn fill_reports(dir: &std::path::Path) {
    let now = SystemTime::now();
    for h in 0..DAYS * 24 {
        let run = dir.join("A").join(format!("{h:04}"));
        let violated = h % 10 == 3;
        let r = CheckResult {
            status: RunStatus::Completed,
            records: 5000,
            unprofiled_texts: 0,
            unreadable_lines: 0,
            min_samples: 100,
            bonferroni_alpha: 0.0125,
            features: [
                "token_length",
                "unknown_token_rate",
                "predicted_label",
                "confidence",
            ]
            .iter()
            .map(|f| feature(f, h))
            .collect(),
            violations: if violated {
                vec![Violation {
                    feature_name: "token_length".into(),
                    constraint_check_type: CheckType::BaselineDriftCheck,
                    description: "PSI 0.31 ≥ 0.25".into(),
                }]
            } else {
                vec![]
            },
            unchecked_features: vec![],
            drift_share: if violated { 0.25 } else { 0.0 },
        };
        let path = run.join("monitoring_report.json");
        monitoring::files::write_json(&path, &r).unwrap();
        let t = now - Duration::from_secs(((DAYS * 24 - h) * 3600) as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, usize) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut tx, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", addr.to_string())
        .body(Full::<Bytes>::default())
        .unwrap();
    let resp = tx.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let n = resp.into_body().collect().await.unwrap().to_bytes().len();
    (status, n)
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let home = pipeline::Home::new(dir.path().join("home"));
    let t = Instant::now();
    let stores = home.open_stores().unwrap();
    fill_store(&*stores.metadata);
    let monitor = dir.path().join("home/monitor/bench");
    fill_reports(&monitor);
    stores
        .metadata
        .record_endpoint(&EndpointRecord {
            name: "bench".into(),
            url: "http://127.0.0.1:9".into(),
            pid: std::process::id(),
            started_at: now(),
            stopped_at: Some(now()),
            management: true,
            capture_dir: None,
            state_dir: None,
            monitor_dir: Some(monitor),
        })
        .unwrap();
    eprintln!("generated the home in {:.1} s", t.elapsed().as_secs_f64());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(console::run(
        console::ConsoleConfig::new(home),
        listener,
        std::future::pending::<()>(),
    ));
    let v = format!("sha256-{}", digest(100, "version"));
    let w = format!("sha256-{}", digest(99, "version"));
    let pages = [
        "/".to_string(),
        "/pipelines".into(),
        "/pipelines?page=40".into(),
        "/executions/exec-00500".into(),
        "/registry".into(),
        "/registry/sentiment".into(),
        "/registry/sentiment?page=8".into(),
        format!("/models/{v}"),
        format!("/models/{v}?compare={w}"),
        format!("/lineage/{v}"),
        "/endpoints".into(),
        "/endpoints/bench".into(),
        "/monitoring".into(),
        "/monitoring/bench".into(),
        "/experiments".into(),
        "/api/home".into(),
        "/api/pipelines".into(),
        "/api/registry/sentiment".into(),
        "/api/monitoring/bench".into(),
    ];
    println!("| page | p50 ms | p99 ms | max ms | bytes |\n|---|---:|---:|---:|---:|");
    for p in &pages {
        for _ in 0..5 {
            assert_eq!(get(addr, p).await.0, 200, "{p}");
        }
        let mut ms = Vec::with_capacity(n);
        let mut bytes = 0;
        for _ in 0..n {
            let t = Instant::now();
            let (status, b) = get(addr, p).await;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(status, 200, "{p}");
            bytes = b;
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| `{}` | {:.1} | {:.1} | {:.1} | {} |",
            p.replace(&v, "{v}").replace(&w, "{w}"),
            pct(&ms, 0.5),
            pct(&ms, 0.99),
            ms[ms.len() - 1],
            bytes
        );
    }
}
