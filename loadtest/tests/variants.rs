//! Per-variant breakdown from X-Amzn-Invoked-Production-Variant, target
//! variant and sticky-key headers, bearer token and payload bodies.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;
use loadtest::{Config, ContentType, Mode, PayloadSource, RequestConfig, SecretString, StickyKeys};

/// Answers as variant A or B in turn (or the requested target variant),
/// and 503 for every fourth request to B; records what it saw.
#[derive(Default)]
struct Log {
    sessions: HashSet<String>,
    auth: HashSet<String>,
    bodies: Vec<Vec<u8>>,
    content_types: HashSet<String>,
}

async fn ab_server(log: Arc<Mutex<Log>>) -> std::net::SocketAddr {
    let count = Arc::new(AtomicU64::new(0));
    common::serve(move |seen| {
        let (count, log) = (count.clone(), log.clone());
        async move {
            let n = count.fetch_add(1, Ordering::SeqCst);
            {
                let mut log = log.lock().unwrap();
                let h = |name: &str| {
                    seen.headers
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_string())
                };
                log.sessions.extend(h("x-sentio-session"));
                log.auth.extend(h("authorization"));
                log.content_types.extend(h("content-type"));
                if log.bodies.len() < 10 {
                    log.bodies.push(seen.body.to_vec());
                }
            }
            let variant = match seen.headers.get("x-amzn-sagemaker-target-variant") {
                Some(v) => v.clone(),
                None if n % 2 == 0 => HeaderValue::from_static("A"),
                None => HeaderValue::from_static("B"),
            };
            let mut response = common::ok();
            if variant == "B" && n % 4 == 1 {
                *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            }
            response
                .headers_mut()
                .insert("x-amzn-invoked-production-variant", variant);
            response
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaks_down_by_invoked_variant() {
    let log = Arc::new(Mutex::new(Log::default()));
    let addr = ab_server(log.clone()).await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::ClosedLoop;
    config.connections = 4;
    config.bounds.max_requests = Some(400);
    config.request = RequestConfig {
        sticky: Some(StickyKeys {
            header: "X-Sentio-Session".into(),
            keys: 5,
        }),
        bearer_token: Some(SecretString::from("tok")),
        ..RequestConfig::default()
    };
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.completed, 400);
    let a = &run.variants["A"];
    let b = &run.variants["B"];
    assert_eq!(a.count, 200);
    assert_eq!(b.count, 200);
    assert_eq!(a.status_codes, [("200".to_string(), 200)].into());
    assert_eq!(b.status_codes["503"], 100);
    assert_eq!(b.status_codes["200"], 100);
    assert_eq!(run.status_codes["503"], 100);
    assert_eq!(run.requests.non_2xx, 100);
    assert_eq!(
        a.latency_ms.count + b.latency_ms.count,
        run.latency_ms.count
    );

    let log = log.lock().unwrap();
    let sessions: HashSet<String> = (0..5).map(|k| format!("key-{k}")).collect();
    assert_eq!(log.sessions, sessions);
    assert_eq!(log.auth, ["Bearer tok".to_string()].into());
    assert_eq!(log.content_types, ["application/json".to_string()].into());
    let body: serde_json::Value = serde_json::from_slice(&log.bodies[0]).unwrap();
    assert_eq!(body["instances"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_variant_and_file_payloads() {
    let log = Arc::new(Mutex::new(Log::default()));
    let addr = ab_server(log.clone()).await;
    let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(file, "id,Review Text\n1,\"great, fits\"\n2,\n3,awful").unwrap();

    let mut config = Config::new(common::url(addr));
    config.connections = 2;
    config.bounds.max_requests = Some(50);
    config.request.target_variant = Some("B".into());
    config.payload.source = PayloadSource::Csv {
        path: file.path().to_path_buf(),
        column: "Review Text".into(),
    };
    config.payload.content_type = ContentType::Csv;
    config.payload.records_per_request = 3;
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    let names: HashMap<_, _> = run
        .variants
        .iter()
        .map(|(k, v)| (k.clone(), v.count))
        .collect();
    assert_eq!(names, [("B".to_string(), 50)].into());

    let log = log.lock().unwrap();
    assert_eq!(log.content_types, ["text/csv".to_string()].into());
    let body = String::from_utf8(log.bodies[0].clone()).unwrap();
    assert_eq!(body.lines().count(), 3, "{body:?}");
    assert!(body.contains("\"great, fits\"") && body.contains("\"awful\""));
}
