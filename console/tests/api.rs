//! The console over HTTP without a browser: the OpenAPI document lists exactly the served
//! routes; reading needs no token, acting does (bearer for JSON, token and CSRF token for
//! forms); errors are JSON under /api; lists are paginated; nothing shows a path. The home
//! here is filled through the store (no training).
mod common;

use common::{act, get, send, start_console, TOKEN};
use hyper::Method;
use pipeline::store::{ApprovalStatus, ExecutionRecord, ExecutionStatus, NewVersion};
use std::collections::BTreeSet;

#[test]
fn openapi_documents_exactly_the_served_routes() {
    let spec: serde_json::Value =
        serde_yaml::from_str(include_str!("../openapi.yaml")).expect("openapi.yaml is YAML");
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = console::route_table()
        .into_iter()
        .map(|r| (r.method, r.path.to_string()))
        .collect();
    assert_eq!(
        served.len(),
        console::route_table().len(),
        "a route is listed twice"
    );
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        phantom.is_empty(),
        "in openapi.yaml but not served: {phantom:?}"
    );
    // Every page has its JSON.
    for (m, p) in &served {
        if m == "GET" && !p.starts_with("/api/") && !p.starts_with("/assets/") {
            let api = if p == "/" {
                "/api/home".to_string()
            } else {
                format!("/api{p}")
            };
            assert!(
                served.contains(&("GET".to_string(), api.clone())),
                "{p} has no {api}"
            );
        }
    }
}

/// A home with 30 executions and three versions, made through the store.
fn home() -> (tempfile::TempDir, pipeline::Home, pipeline::Stores) {
    let dir = tempfile::tempdir().unwrap();
    let home = pipeline::Home::new(dir.path().join("home"));
    let stores = home.open_stores().unwrap();
    for i in 0..30 {
        stores
            .metadata
            .create_execution(&ExecutionRecord {
                id: format!("20250101-0000{i:02}-e{i}"),
                pipeline: "sentiment".into(),
                status: ExecutionStatus::Failed,
                parameters: serde_json::json!({"input_data": format!("{}/data.csv", dir.path().display())}),
                definition: serde_json::to_value(pipeline::PipelineDef::default_pipeline()).unwrap(),
                code_version: "0.1.0".into(),
                trigger: "manual".into(),
                pid: 1,
                started_at: format!("2025-01-01T00:00:{i:02}.000Z"),
                ended_at: Some(format!("2025-01-01T00:01:{i:02}.000Z")),
                failure_reason: Some(format!("cannot read {}/data.csv", dir.path().display())),
                manifest: None,
            })
            .unwrap();
    }
    for n in 0..3 {
        stores
            .metadata
            .register_version(&NewVersion {
                group: "g".into(),
                version: format!("sha256-{n:064}"),
                artifact_digest: format!("{n:064}"),
                status: ApprovalStatus::PendingManualApproval,
                metrics: serde_json::json!({"accuracy": 0.8, "macro_f1": 0.7}),
                lineage: serde_json::json!({"data": {"path": format!("{}/data.csv", dir.path().display())}}),
                execution_id: "e0".into(),
                actor: "test".into(),
            })
            .unwrap();
    }
    (dir, home, stores)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_is_open_acting_needs_the_token() {
    let (dir, home, stores) = home();
    let (addr, _stop) = start_console(&home, true).await;
    let v0 = format!("sha256-{:064}", 0);
    let approve = format!("/api/registry/versions/{v0}/approve");

    // Reading: pages and JSON, paginated, no paths.
    let root = dir.path().display().to_string();
    for p in [
        "/",
        "/api/home",
        "/pipelines",
        "/api/pipelines?page=2",
        "/registry/g",
        "/api/registry/g",
        "/executions/20250101-000001-e1",
        "/api/executions/20250101-000001-e1",
        "/endpoints",
        "/monitoring",
        "/experiments",
        "/assets/console.js",
        "/api/openapi.yaml",
    ] {
        let r = get(addr, p).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        assert!(!r.text().contains(&root), "{p} shows a path");
    }
    let page = get(addr, "/api/pipelines?page=2").await.json();
    assert_eq!(
        page["pagination"],
        serde_json::json!({"page": 2, "pages": 2, "per_page": 25, "total": 30})
    );
    assert_eq!(page["executions"].as_array().unwrap().len(), 5);
    assert_eq!(
        get(addr, "/api/executions/20250101-000001-e1").await.json()["parameters"]["input_data"],
        "…/data.csv"
    );
    let html = get(addr, "/").await;
    assert!(html
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    assert!(html
        .header("set-cookie")
        .unwrap()
        .contains("SameSite=Strict"));

    // Errors: JSON under /api, pages otherwise.
    let r = get(addr, "/api/executions/nope").await;
    assert_eq!(
        (r.status.as_u16(), r.json()["type"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(get(addr, "/api/pipelines?page=0").await.status, 400);
    assert_eq!(get(addr, "/nope").await.status, 404);
    assert_eq!(send(addr, Method::DELETE, "/", &[], "").await.status, 405);

    // Acting: no token 401, wrong token 403, right token 200.
    let r = send(
        addr,
        Method::POST,
        &approve,
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["type"].as_str()),
        (401, Some("unauthorized"))
    );
    let r = send(
        addr,
        Method::POST,
        &approve,
        &[
            ("authorization", "Bearer wrong"),
            ("content-type", "application/json"),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        stores.registry().describe(&v0).unwrap().status,
        ApprovalStatus::PendingManualApproval
    );
    let r = act(addr, &approve, serde_json::json!({"note": "ok"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        stores.registry().describe(&v0).unwrap().status,
        ApprovalStatus::Approved
    );
    // An illegal transition is a conflict.
    assert_eq!(act(addr, &approve, serde_json::json!({})).await.status, 409);

    // Forms: the token and the page's CSRF token (cookie) are both needed.
    let v1 = format!("sha256-{:064}", 1);
    let form_path = format!("/registry/versions/{v1}/reject");
    let cookie = get(addr, "/registry/g")
        .await
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let form = |csrf: &str, token: &str| format!("csrf={csrf}&token={token}&note=no");
    let ctype = ("content-type", "application/x-www-form-urlencoded");
    let r = send(addr, Method::POST, &form_path, &[ctype], form(&csrf, TOKEN)).await;
    assert_eq!(r.status, 403, "no cookie");
    let r = send(
        addr,
        Method::POST,
        &form_path,
        &[ctype, ("cookie", &cookie)],
        form("0", TOKEN),
    )
    .await;
    assert_eq!(r.status, 403, "wrong CSRF token");
    let r = send(
        addr,
        Method::POST,
        &form_path,
        &[
            ctype,
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
        ],
        form(&csrf, TOKEN),
    )
    .await;
    assert_eq!(r.status, 403, "cross-origin");
    let r = send(
        addr,
        Method::POST,
        &form_path,
        &[ctype, ("cookie", &cookie)],
        form(&csrf, ""),
    )
    .await;
    assert_eq!(r.status, 401, "no token");
    assert_eq!(
        stores.registry().describe(&v1).unwrap().status,
        ApprovalStatus::PendingManualApproval
    );
    let r = send(
        addr,
        Method::POST,
        &form_path,
        &[ctype, ("cookie", &cookie)],
        form(&csrf, TOKEN),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/registry/g?done="));
    assert_eq!(
        stores.registry().describe(&v1).unwrap().status,
        ApprovalStatus::Rejected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_console_is_read_only() {
    let (_dir, home, stores) = home();
    let (addr, _stop) = start_console(&home, false).await;
    let page = get(addr, "/registry/g").await.text();
    assert!(page.contains("read-only"));
    assert!(
        !page.contains("name=\"token\""),
        "no action forms without a token"
    );
    let v = format!("sha256-{:064}", 2);
    let r = act(
        addr,
        &format!("/api/registry/versions/{v}/approve"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["type"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(
        stores.registry().describe(&v).unwrap().status,
        ApprovalStatus::PendingManualApproval
    );
    // A recorded endpoint that is not running is listed as stopped, without waiting on it.
    stores
        .metadata
        .record_endpoint(&pipeline::store::EndpointRecord {
            name: "old".into(),
            url: "http://127.0.0.1:9".into(),
            pid: std::process::id(),
            started_at: pipeline::store::now(),
            stopped_at: Some(pipeline::store::now()),
            management: true,
            capture_dir: None,
            state_dir: None,
            monitor_dir: None,
        })
        .unwrap();
    let v = get(addr, "/api/endpoints").await.json();
    assert_eq!(v["endpoints"][0]["stopped"], true);
    assert_eq!(get(addr, "/endpoints/old").await.status, 200);
}
