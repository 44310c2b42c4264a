//! Every route in serve/openapi.yaml exists, and documented required fields are present in
//! real responses; `openapi-spec-validator` accepts the file and Schemathesis finds no
//! failure against a live server. (That every route the router serves is documented, with
//! every status it answers, is checked by unit tests of `serve::routes` against the
//! router's own table.)
use crate::common::*;
use crate::tools;
use hyper::Method;
use serde_json::Value;
use std::time::Duration;

fn spec() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Checks `value` has the schema's required fields, recursing into $ref'd array items.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(spec, schema);
    for field in schema["required"].as_array().into_iter().flatten() {
        let f = field.as_str().unwrap();
        assert!(value.get(f).is_some(), "{at}: missing {f} in {value}");
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, p) in props {
            if let (Some(items), Some(arr)) = (
                p["items"].as_object(),
                value.get(k).and_then(Value::as_array),
            ) {
                if items.contains_key("$ref") {
                    for v in arr {
                        check(spec, &p["items"], v, &format!("{at}.{k}[]"));
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn documented_routes_exist_and_responses_match() {
    let m = models();
    let dir = tempfile::tempdir().unwrap();
    let (state, root) = (dir.path().join("state"), dir.path().join("root"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("in.jsonl"),
        "{\"text\": \"I love this dress\"}\n{\"text\": \"the zipper broke\"}\n",
    )
    .unwrap();
    let mut c = config(vec![local("A", &m.a, 1.0), local("B", &m.b, 1.0)]);
    c.state_dir = Some(state.clone());
    c.transform_jobs = Some(std::sync::Arc::new(transform::Jobs::new(vec![root])));
    let experiment = monitoring::experiment::Experiment::new(
        "openapi",
        &c.endpoint_name,
        vec!["A".into(), "B".into()],
    )
    .unwrap();
    monitoring::experiment::ExperimentStore::new(&state)
        .save(&experiment)
        .unwrap();
    let s = TestServer::start(c).await;
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 13);
    // Deletions last so the other routes still see both variants.
    let mut ops: Vec<(String, String, Value)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(m, op)| (p.clone(), m.clone(), op.clone()))
        })
        .collect();
    ops.sort_by_key(|(_, m, _)| m == "delete");
    let auth = format!("Bearer {TOKEN}");
    // Paths sort before their sub-paths, so the job exists when /transform-jobs/{id} runs.
    let mut job = String::from("none-yet");
    for (path, method, op) in ops {
        let url = path
            .replace("{name}", "B")
            .replace("/experiments/{id}", "/experiments/openapi")
            .replace("{id}", &job);
        let body = op["requestBody"]["content"]["application/json"]["example"].clone();
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let method: Method = method.to_uppercase().parse().unwrap();
        let r = send(
            s.addr,
            method.clone(),
            &url,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await;
        assert!(
            r.status != 404 || r.error_type() != "not_found" || r.text().contains("nonexistent"),
            "{method} {url}: {}",
            r.text()
        );
        assert_ne!(r.status, 405, "{method} {url}");
        if path == "/transform-jobs" {
            assert_eq!(r.status, 201, "{}", r.text());
            job = r.json()["TransformJobName"].as_str().unwrap().to_string();
        }
        assert!(
            !r.status.is_server_error(),
            "{method} {url}: {} {}",
            r.status,
            r.text()
        );
        let code = r.status.as_u16().to_string();
        let documented = &op["responses"][code.as_str()];
        let documented = if documented.is_null() {
            &op["responses"]["default"]
        } else {
            documented
        };
        assert!(
            !documented.is_null() || r.status.is_client_error(),
            "{method} {url}: status {code} undocumented"
        );
        let schema = &documented["content"]["application/json"]["schema"];
        if !schema.is_null() && r.header("content-type") == Some("application/json") {
            check(&spec, schema, &r.json(), &format!("{method} {url}"));
        }
    }
}

/// `openapi-spec-validator` (OpenAPI 3.1 and its JSON Schema dialect) accepts the file, and
/// the document the server serves is the same file.
#[tokio::test]
async fn the_spec_passes_openapi_spec_validator_and_is_served() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let mut cmd = tokio::process::Command::new(tools::venv_tool("openapi-spec-validator"));
    let out = tools::run(cmd.arg(file), Duration::from_secs(120)).await;
    assert!(out.status.success(), "{}", tools::text(&out));

    let s = TestServer::start(config(vec![local("A", &models().a, 1.0)])).await;
    let yaml = get(s.addr, "/openapi.yaml").await;
    assert_eq!(yaml.status, 200);
    assert_eq!(yaml.header("content-type"), Some("application/yaml"));
    assert_eq!(yaml.text(), std::fs::read_to_string(file).unwrap());
    let json = get(s.addr, "/openapi.json").await;
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.json(), spec());
    // A served path with another method: 405 naming the methods it has.
    let r = send(s.addr, Method::TRACE, "/ping", &[], "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.error_type(), "method_not_allowed");
    let r = send(s.addr, Method::DELETE, "/invocations", &[], "").await;
    assert_eq!((r.status.as_u16(), r.header("allow")), (405, Some("POST")));
}

/// Names nobody guesses: Schemathesis may remove or zero-weight any variant it can name,
/// and an endpoint whose every variant has weight 0 rightly answers 503 to untargeted
/// traffic, which is the operator's doing, not a client mistake of the request that meets it.
const PROD: &str = "prod-7f3a9c";
const CAND: &str = "cand-91c2e4";
const REMOTE: &str = "remote-5d1e08";

/// Schemathesis against a live server, every route (the management API with the token),
/// with two local variants, a remote one (a worker) and a shadow: generated valid and
/// invalid requests, single and chained along the spec's links, and zero failures of the
/// checks that no request answers 5xx and that every status, content type, body and header
/// is the documented one. Bounded by examples per operation and a deadline (one worker:
/// CI has two cores).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure() {
    let m = models();
    let dir = tempfile::tempdir().unwrap();
    let (state, root) = (dir.path().join("state"), dir.path().join("root"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("in.jsonl"),
        "{\"text\": \"I love this dress\"}\n{\"text\": \"the zipper broke\"}\n",
    )
    .unwrap();
    // A worker behind a remote variant: its answers pass through the proxy.
    let mut wc = config(vec![local("W", &m.b, 1.0)]);
    wc.worker = true;
    let worker = TestServer::start(wc).await;
    let remote = serve::VariantSpec {
        name: REMOTE.into(),
        source: serve::VariantSource::Upstream(worker.url()),
        weight: 1.0,
    };
    let mut c = config(vec![local(PROD, &m.a, 1.0), local(CAND, &m.b, 1.0), remote]);
    c.shadow = Some(serve::shadow::ShadowConfig {
        name: "shadow-0b7d".into(),
        model: m.b.display().to_string(),
        production: PROD.into(),
        fraction: 1.0,
        max_in_flight: 4,
    });
    c.state_dir = Some(state.clone());
    c.transform_jobs = Some(std::sync::Arc::new(transform::Jobs::new(vec![root])));
    c.capture = Some(serve::capture::CaptureConfig::new(
        dir.path().join("capture"),
    ));
    // Generated upstream URLs may name closed local ports: give up on them quickly.
    c.limits.upstream_timeout = Duration::from_secs(2);
    // The experiment the spec's example id names.
    let experiment = monitoring::experiment::Experiment::new(
        "ab1",
        &c.endpoint_name,
        vec![PROD.into(), CAND.into()],
    )
    .unwrap();
    monitoring::experiment::ExperimentStore::new(&state)
        .save(&experiment)
        .unwrap();
    let s = TestServer::start(c).await;

    // Generated `upstream` values would make the server connect wherever they point: the
    // copy of the spec Schemathesis reads allows only a closed port on this machine.
    let mut spec = get(s.addr, "/openapi.json").await.json();
    for schema in ["AddVariant", "Deployment"] {
        spec["components"]["schemas"][schema]["properties"]["upstream"] =
            serde_json::json!({"const": "http://127.0.0.1:9"});
    }
    for branch in spec["components"]["schemas"]["Source"]["oneOf"]
        .as_array_mut()
        .unwrap()
    {
        if branch["properties"]["upstream"].is_object() {
            branch["properties"]["upstream"] = serde_json::json!({"const": "http://127.0.0.1:9"});
        }
    }
    let spec_file = dir.path().join("openapi.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();

    let mut cmd = tokio::process::Command::new(tools::venv_tool("st"));
    cmd.current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/endpoint"),
        )
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .args(["run", spec_file.to_str().unwrap(), "--url", &s.url()])
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "50", "--seed", "18", "--workers", "1"])
        .args(["--request-timeout", "30", "--generation-database", "none"])
        .args(["--suppress-health-check", "all", "--no-color"]);
    let out = tools::run(&mut cmd, Duration::from_secs(600)).await;
    let report = tools::text(&out);
    println!("{report}");
    assert!(
        out.status.success(),
        "Schemathesis found failures:\n{report}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("No operations") && stdout.contains("passed"),
        "Schemathesis ran nothing:\n{report}"
    );
    s.stop().await.unwrap();
    worker.stop().await.unwrap();
}

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance";

/// A client's mistake is a 4xx wherever it is made: an upstream that is not an http URL, an
/// unknown field, a missing source.
#[tokio::test]
async fn management_mistakes_are_4xx() {
    let s = TestServer::start(config(vec![local("A", &models().a, 1.0)])).await;
    let cases = [
        (
            "/v1/admin/variants",
            serde_json::json!({"name": "Z", "upstream": "x"}),
            422,
        ),
        (
            "/v1/admin/variants",
            serde_json::json!({"name": "Z", "upstream": "ftp://x"}),
            422,
        ),
        (
            "/v1/admin/variants",
            serde_json::json!({"name": "Z", "upstream": "http://"}),
            422,
        ),
        ("/v1/admin/variants", serde_json::json!({"name": "Z"}), 422),
        (
            "/v1/admin/variants",
            serde_json::json!({"name": "Z", "model": "m", "wieght": 2}),
            400,
        ),
        (
            "/v1/admin/variants/A/deploy",
            serde_json::json!({"upstream": "x"}),
            422,
        ),
        ("/v1/admin/variants/A/deploy", serde_json::json!({}), 422),
        (
            "/v1/admin/variants/A/deploy",
            serde_json::json!({"model": "m", "x": 1}),
            400,
        ),
    ];
    for (path, body, status) in cases {
        let r = admin(s.addr, Method::POST, path, body.clone()).await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.text());
        r.error_type();
    }
    let r = admin(
        s.addr,
        Method::PUT,
        "/v1/admin/capture",
        serde_json::json!({"sampling_percent": 5, "x": 1}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
}
