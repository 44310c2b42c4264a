//! Every route in serve/openapi.yaml exists, and documented required fields are present in
//! real responses. (That every route the router serves is documented is checked by a unit
//! test of `serve::routes` against the router's own table.)
use crate::common::*;
use hyper::Method;
use serde_json::Value;

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
    c.transform_roots = vec![root];
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
