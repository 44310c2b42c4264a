//! The SageMaker contract and the native API: content types, Accept, headers, shapes.
use crate::common::*;

fn assert_prediction(p: &serde_json::Value) {
    let probs = p["probabilities"]
        .as_object()
        .unwrap_or_else(|| panic!("{p}"));
    assert_eq!(probs.len(), 3);
    let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{p}");
    assert!(probs.contains_key(p["label"].as_str().unwrap()));
}

#[tokio::test]
async fn json_single_review_and_instances() {
    let m = models();
    let s = TestServer::start(config(vec![local("AllTraffic", &m.a, 1.0)])).await;
    let r = invoke(
        s.addr,
        &[
            ("content-type", "application/json"),
            ("x-amzn-sagemaker-inference-id", "my-id-1"),
            ("x-amzn-sagemaker-custom-attributes", "trace=abc"),
        ],
        r#"{"text": "I love this dress"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_prediction(&v);
    assert_eq!(v["model_version"], version_of(&m.a));
    assert_eq!(v["inference_id"], "my-id-1");
    assert_eq!(v["variant"], "AllTraffic");
    assert_eq!(
        r.header("x-amzn-invoked-production-variant"),
        Some("AllTraffic")
    );
    assert_eq!(
        r.header("x-amzn-sagemaker-custom-attributes"),
        Some("trace=abc")
    );
    assert!(r.header("x-request-id").is_some());

    let bare = invoke_json(s.addr, r#""terrible zipper""#).await;
    assert_eq!(bare.status, 200);
    assert!(bare.json()["inference_id"].as_str().unwrap().len() >= 32);

    let many = invoke_json(
        s.addr,
        r#"{"instances": ["great", {"text": "awful"}, "fine"]}"#,
    )
    .await;
    assert_eq!(many.status, 200);
    let v = many.json();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    preds.iter().for_each(assert_prediction);
}

#[tokio::test]
async fn jsonlines_csv_and_accept_negotiation() {
    let m = models();
    let s = TestServer::start(config(vec![local("AllTraffic", &m.a, 1.0)])).await;
    let jl = invoke(
        s.addr,
        &[
            ("content-type", "application/jsonlines"),
            ("accept", "application/jsonlines"),
        ],
        "\"great\"\n\n{\"text\": \"awful\"}\n",
    )
    .await;
    assert_eq!(jl.status, 200);
    assert_eq!(jl.header("content-type"), Some("application/jsonlines"));
    let lines: Vec<serde_json::Value> = jl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    lines.iter().for_each(assert_prediction);

    let csv = invoke(
        s.addr,
        &[("content-type", "text/csv"), ("accept", "text/csv")],
        "great dress\n\"bad, very bad\",x\n",
    )
    .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv"));
    let rows: Vec<&str> = csv
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].split(',').count(), 4, "{rows:?}");

    // CSV in, JSON out (default Accept).
    let mixed = invoke(s.addr, &[("content-type", "text/csv")], "great dress\n").await;
    assert_eq!(mixed.json()["predictions"].as_array().unwrap().len(), 1);
    // Preference by q-value.
    let q = invoke(
        s.addr,
        &[
            ("content-type", "application/json"),
            ("accept", "application/json;q=0.2, text/csv"),
        ],
        r#"{"text": "ok"}"#,
    )
    .await;
    assert_eq!(q.header("content-type"), Some("text/csv"));
    // Plain text body.
    let t = invoke(s.addr, &[("content-type", "text/plain")], "lovely fabric").await;
    assert_eq!(t.status, 200);
    assert_prediction(&t.json());
}

#[tokio::test]
async fn native_api_lists_models_and_predicts() {
    let m = models();
    let s = TestServer::start(config(vec![local("A", &m.a, 1.0), local("B", &m.b, 0.0)])).await;
    let v = get(s.addr, "/v1/models").await.json();
    assert_eq!(v["status"], "ready");
    let vs = v["variants"].as_array().unwrap();
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0]["share"], 1.0);
    assert_eq!(vs[1]["model_version"], version_of(&m.b));
    assert_eq!(vs[0]["labels"].as_array().unwrap().len(), 3);

    let r = send(
        s.addr,
        hyper::Method::POST,
        "/v1/predict",
        &[("content-type", "application/json")],
        r#"{"texts": ["great", "awful"], "variant": "B"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["variant"], "B");
    assert_eq!(v["model_version"], version_of(&m.b));
    assert_eq!(v["predictions"].as_array().unwrap().len(), 2);
}
