//! The front proxy's public pieces on their own: the limits' start-up checks and the
//! internal-error layer (panics and 500 bodies never reach a client).
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serve::http::{headers, json_response, Resp};
use serve::middleware::internal_error::InternalErrorLayer;
use serve::Limits;
use std::convert::Infallible;
use std::time::Duration;
use tower::{Layer, Service};

#[test]
fn the_default_limits_work_together() {
    Limits::default().check().unwrap();
    assert!(Limits::default().connection_cap() >= 1);
}

#[test]
fn limits_that_cannot_work_are_refused() {
    let bad = [
        Limits {
            max_buffered_body_bytes: 1024,
            ..Limits::default()
        },
        Limits {
            header_read_timeout: Duration::ZERO,
            ..Limits::default()
        },
        Limits {
            max_connections: Some(0),
            ..Limits::default()
        },
        Limits {
            max_connections: Some(usize::MAX),
            ..Limits::default()
        },
        Limits {
            max_concurrency: 0,
            ..Limits::default()
        },
    ];
    for l in bad {
        assert!(l.check().is_err(), "{l:?}");
    }
}

async fn body(r: Resp) -> serde_json::Value {
    serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

fn request() -> Request<()> {
    Request::builder()
        .uri("/x")
        .header(headers::REQUEST_ID, "rid-1")
        .body(())
        .unwrap()
}

#[tokio::test]
async fn panics_and_500_bodies_never_reach_the_client() {
    let panicking = tower::service_fn(|_req: Request<()>| async {
        if true {
            panic!("libtorch: frame #0 /opt/secret/lib.so");
        }
        Ok::<Resp, Infallible>(Response::new(Full::default()))
    });
    let r = InternalErrorLayer
        .layer(panicking)
        .call(request())
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let v = body(r).await;
    assert_eq!(v["error"], "internal error");
    assert_eq!(v["request_id"], "rid-1");
    assert!(!v.to_string().contains("secret"));

    let leaking = tower::service_fn(|_req: Request<()>| async {
        Ok::<Resp, Infallible>(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"error": "I/O error on /srv/secret", "type": "internal"}),
        ))
    });
    let r = InternalErrorLayer
        .layer(leaking)
        .call(request())
        .await
        .unwrap();
    let v = body(r).await;
    assert_eq!(v["type"], "internal");
    assert!(!v.to_string().contains("secret"), "{v}");

    let fine = tower::service_fn(|_req: Request<()>| async {
        let mut r = Response::new(Full::default());
        *r.status_mut() = StatusCode::NO_CONTENT;
        Ok::<Resp, Infallible>(r)
    });
    let r = InternalErrorLayer
        .layer(fine)
        .call(request())
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}
