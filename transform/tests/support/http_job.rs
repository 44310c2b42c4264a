//! A transform job run through a server's `POST /transform-jobs`, followed by
//! `GET /transform-jobs/{id}` until it has ended.
use crate::common::admin;
use hyper::Method;
use serde_json::Value;
use std::net::SocketAddr;

/// Starts the job (201 expected) and returns its description once it is no longer
/// `InProgress`. Polls a state; it gives up after a minute only so that a job that never
/// ends fails the test instead of hanging it.
pub async fn run_to_end(addr: SocketAddr, body: Value) -> Value {
    let created = admin(addr, Method::POST, "/transform-jobs", body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["TransformJobName"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..1200 {
        let r = admin(
            addr,
            Method::GET,
            &format!("/transform-jobs/{id}"),
            Value::Null,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let d = r.json();
        if d["TransformJobStatus"] != "InProgress" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("transform job {id} never ended");
}
