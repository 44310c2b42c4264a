//! A transform job run through a server's `POST /transform-jobs`, followed by
//! `GET /transform-jobs/{id}` until it has ended.
use crate::common::{admin, until};
use hyper::Method;
use serde_json::Value;
use std::net::SocketAddr;

/// Starts the job (201 expected) and returns its description once it is no longer
/// `InProgress`.
pub async fn run_to_end(addr: SocketAddr, body: Value) -> Value {
    let created = admin(addr, Method::POST, "/transform-jobs", body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["TransformJobName"]
        .as_str()
        .unwrap()
        .to_string();
    let mut job = Value::Null;
    until("the transform job to end", async || {
        let r = admin(
            addr,
            Method::GET,
            &format!("/transform-jobs/{id}"),
            Value::Null,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        job = r.json();
        job["TransformJobStatus"] != "InProgress"
    })
    .await;
    job
}
