//! The management API: auth, describe, weights, add/remove, deploy with atomic swap, and
//! transform jobs refused by a server that runs none.
use crate::common::*;
use hyper::Method;
use serde_json::json;

#[tokio::test]
async fn management_requires_the_token_and_is_off_without_one() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let none = send(s.addr, Method::GET, "/v1/admin/endpoint", &[], "").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.error_type(), "unauthorized");
    let wrong = send(
        s.addr,
        Method::GET,
        "/v1/admin/endpoint",
        &[("authorization", "Bearer nope")],
        "",
    )
    .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.error_type(), "forbidden");
    let ok = admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["variants"][0]["name"], "A");
    // A server given no transform jobs (ServeConfig::transform_jobs: None) refuses them.
    let job = json!({"Input": "in.jsonl", "Output": "out"});
    let r = admin(s.addr, Method::POST, "/transform-jobs", job).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.error_type(), "path_not_allowed");

    let mut c = config(vec![local("A", &m.a, 1.0)]);
    c.admin_token = None;
    let off = TestServer::start(c).await;
    let r = admin(off.addr, Method::GET, "/v1/admin/endpoint", json!({})).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn weights_add_remove_and_history() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let added = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants",
        json!({"name": "B", "model": m.b, "weight": 1.0}),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.text());
    assert_eq!(added.json()["model_version"], version_of(&m.b));
    let dup = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants",
        json!({"name": "B", "model": m.b}),
    )
    .await;
    assert_eq!(dup.status, 409);
    let w = admin(
        s.addr,
        Method::PUT,
        "/v1/admin/weights",
        json!({"weights": {"A": 0.0, "B": 1.0}}),
    )
    .await;
    assert_eq!(w.status, 200);
    for _ in 0..20 {
        let r = invoke_json(s.addr, r#""nice""#).await;
        assert_eq!(r.header("x-amzn-invoked-production-variant"), Some("B"));
    }
    let bad = admin(
        s.addr,
        Method::PUT,
        "/v1/admin/weights",
        json!({"weights": {"Z": 1.0}}),
    )
    .await;
    assert_eq!(bad.status, 422);
    let neg = admin(
        s.addr,
        Method::PUT,
        "/v1/admin/weights",
        json!({"weights": {"A": -1.0}}),
    )
    .await;
    assert_eq!(neg.status, 422);
    assert_eq!(
        admin(s.addr, Method::DELETE, "/v1/admin/variants/B", json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        admin(s.addr, Method::DELETE, "/v1/admin/variants/A", json!({}))
            .await
            .status,
        409
    );
    let d = admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({}))
        .await
        .json();
    assert_eq!(d["variants"].as_array().unwrap().len(), 1);
    let actions: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    for a in ["add", "weights", "remove"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
}

#[tokio::test]
async fn a_failed_deploy_keeps_the_old_version_serving() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0)])).await;
    let broken = tempfile::tempdir().unwrap();
    let r = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/A/deploy",
        json!({"model": broken.path()}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_type(), "model_load_failed");
    let missing = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/A/deploy",
        json!({"model": "/no/such/model"}),
    )
    .await;
    assert_eq!(missing.status, 422);
    assert_eq!(get(s.addr, "/ping").await.status, 200);
    let r = invoke_json(s.addr, r#""nice""#).await;
    assert_eq!(r.json()["model_version"], version_of(&m.a));
    let d = admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({}))
        .await
        .json();
    let last = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|h| h["variant"] == "A" && h["action"] == "deploy")
        .unwrap()
        .clone();
    assert!(
        last["outcome"].as_str().unwrap().starts_with("failed"),
        "{last}"
    );
}
