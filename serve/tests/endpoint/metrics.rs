//! The metrics as third-party tools see them: `promtool check metrics` finds no problem in
//! a scrape after traffic; every family of ours has its help text and type, and is there
//! from start-up; `sentio_model_info` follows deployments; the Grafana dashboard under
//! `deploy/grafana/` queries only series a real scrape has, in PromQL promtool accepts.
use crate::common::*;
use crate::tools;
use hyper::Method;
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange};
use monitoring::drift::{MonitorConfig, Thresholds};
use monitoring::profile::{Current, Profiler};
use serde_json::{json, Value};
use serve::telemetry::{Kind, FAMILIES};
use std::path::Path;
use std::time::Duration;

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/grafana/sentio-endpoint.json"
);

/// Series names of a scrape (histograms give their `_bucket`, `_sum` and `_count`).
fn series(scrape: &str) -> std::collections::BTreeSet<&str> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect()
}

/// Asserts `# HELP` and the right `# TYPE` for every family of ours.
fn assert_described(scrape: &str, skip: &[&str]) {
    for f in FAMILIES.iter().filter(|f| !skip.contains(&f.name)) {
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert!(
            scrape.contains(&format!("# HELP {} {}", f.name, f.help)),
            "no HELP for {}:\n{scrape}",
            f.name
        );
        assert!(
            scrape.contains(&format!("# TYPE {} {kind}\n", f.name)),
            "{} is not typed {kind}",
            f.name
        );
    }
}

/// A baseline and 600 captured records like it, for one drift monitor run.
fn drift_inputs(dir: &Path, model: &Path) -> MonitorConfig {
    let text = |i: usize| match i % 3 {
        0 => (
            format!("Terrible fit and the zipper broke after {} days", i % 40),
            0,
        ),
        1 => (
            format!("It is okay, nothing special about the colour {}", i % 40),
            1,
        ),
        _ => (
            format!("I love this dress, the fabric is lovely {}", i % 40),
            2,
        ),
    };
    let labels = ["negative", "neutral", "positive"].map(String::from);
    let texts: Vec<(String, usize)> = (1000..1900).map(text).collect();
    let mut profiled = Current::default();
    let refs: Vec<&str> = texts.iter().map(|t| t.0.as_str()).collect();
    profiled.add_texts(&refs, &Profiler::load(model).unwrap());
    let predicted: Vec<usize> = texts.iter().map(|t| t.1).collect();
    let (s, c) = monitoring::baseline::from_profile(&profiled, &predicted, &labels);
    monitoring::baseline::write(&dir.join("baseline"), &s, &c).unwrap();
    let hour = dir.join("capture/A/2026/01/01/00");
    std::fs::create_dir_all(&hour).unwrap();
    let mut lines = Vec::new();
    for i in 0..600 {
        let (t, k) = text(i);
        let input = json!({ "text": t }).to_string();
        let output = json!({ "label": labels[k] }).to_string();
        let e = Exchange::json("A", "v", "id", input.as_bytes(), output.as_bytes());
        let record = CaptureRecord::new(&e, &CaptureFormat::default());
        serde_json::to_writer(&mut lines, &record).unwrap();
        lines.push(b'\n');
    }
    std::fs::write(hour.join("part.jsonl"), lines).unwrap();
    MonitorConfig {
        capture_dir: dir.join("capture"),
        baselines: monitoring::drift::Baselines::One {
            baseline_dir: dir.join("baseline"),
            model_dir: Some(model.to_path_buf()),
        },
        window: None,
        thresholds: Thresholds::default(),
        out_dir: dir.join("monitor"),
        threads: 2,
    }
}

/// Traffic of every kind (answers and mistakes, every route group, capture, shadow,
/// feedback, a drift monitor run), then one scrape.
async fn scrape_after_traffic() -> String {
    let m = models();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(vec![local("Scraped", &m.a, 1.0)]);
    c.capture = Some(serve::capture::CaptureConfig::new(
        dir.path().join("capture"),
    ));
    c.state_dir = Some(dir.path().join("state"));
    c.shadow = Some(serve::shadow::ShadowConfig {
        name: "scraped-shadow".into(),
        model: m.b.display().to_string(),
        production: "Scraped".into(),
        fraction: 1.0,
        max_in_flight: 4,
    });
    let s = TestServer::start(c).await;
    let csv = [("content-type", "text/csv"), ("accept", "text/csv")];
    assert_eq!(invoke(s.addr, &csv, "great fit\nawful\n").await.status, 200);
    let ok = invoke_json(s.addr, r#"{"instances": ["great", "bad"]}"#).await;
    assert_eq!(ok.status, 200);
    let id = ok
        .header("x-amzn-sagemaker-inference-id")
        .unwrap()
        .to_string();
    assert_eq!(invoke_json(s.addr, r#"{"text": " "}"#).await.status, 422);
    let predict = send(
        s.addr,
        Method::POST,
        "/v1/predict",
        &[],
        r#"{"text": "ok"}"#,
    )
    .await;
    assert_eq!(predict.status, 200);
    let fb = json!({"inferenceId": id, "labels": ["positive", "negative"]});
    let fb = send(s.addr, Method::POST, "/feedback", &[], fb.to_string()).await;
    assert_eq!(fb.status, 202, "{}", fb.text());
    assert_eq!(
        admin(s.addr, Method::GET, "/v1/admin/endpoint", json!({}))
            .await
            .status,
        200
    );
    assert_eq!(get(s.addr, "/nope").await.status, 404);

    let job = drift_inputs(dir.path(), &m.a);
    let schedule = serve::schedule::ScheduleConfig {
        interval: Duration::from_secs(3600),
        job,
        actions: Vec::new(),
        retrain_after_labels: None,
        canary: None,
    };
    serve::schedule::Monitor::new(schedule)
        .tick()
        .await
        .unwrap();

    let r = get(s.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
    s.stop().await.unwrap();
    r.text()
}

#[tokio::test]
async fn promtool_finds_no_problem_and_the_dashboard_queries_only_real_series() {
    let scrape = scrape_after_traffic().await;
    assert_described(&scrape, &[]);
    for process in ["process_cpu_seconds_total", "process_resident_memory_bytes"] {
        assert!(scrape.contains(&format!("# HELP {process} ")), "{process}");
    }
    assert!(scrape.contains("# TYPE process_cpu_seconds_total counter\n"));
    assert!(!scrape.contains("sentio_process_"));

    // promtool reads the exposition on standard input; silence and 0 mean no problem.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scrape.prom");
    std::fs::write(&file, &scrape).unwrap();
    let mut cmd = tokio::process::Command::new(tools::system_tool("promtool"));
    cmd.args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap());
    let out = cmd.kill_on_drop(true).output().await.unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}\n--- scrape\n{scrape}",
        tools::text(&out)
    );

    // Every series the dashboard queries is in the scrape...
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(DASHBOARD).unwrap()).unwrap();
    let exprs = queries(&dashboard);
    assert!(exprs.len() > 30, "{exprs:?}");
    let have = series(&scrape);
    for e in &exprs {
        for name in e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|t| t.starts_with("sentio_") || t.starts_with("process_"))
        {
            assert!(
                have.contains(name),
                "the dashboard queries {name}, which no scrape has: {e}"
            );
        }
    }
    // ...and every query is PromQL that promtool accepts (as recording rules).
    let rules: Vec<Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e
                .replace("$__rate_interval", "5m")
                .replace("${variant}", ".*")
                .replace("$variant", ".*");
            json!({"record": format!("dashboard:query_{i}"), "expr": e})
        })
        .collect();
    let rules_file = dir.path().join("dashboard-rules.yml");
    let doc = json!({"groups": [{"name": "dashboard", "rules": rules}]});
    std::fs::write(&rules_file, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let mut cmd = tokio::process::Command::new(tools::system_tool("promtool"));
    let out = tools::run(
        cmd.args(["check", "rules"]).arg(&rules_file),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        out.status.success(),
        "promtool check rules:\n{}",
        tools::text(&out)
    );
}

/// Every PromQL query of a Grafana dashboard: panel targets (rows' panels too) and query
/// variables.
fn queries(dashboard: &Value) -> Vec<String> {
    fn panels(list: &Value, out: &mut Vec<String>) {
        for p in list.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                out.extend(t["expr"].as_str().map(String::from));
            }
            panels(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(q) = v["query"]["query"].as_str() {
            // label_values(metric, label) names a metric, not PromQL.
            let metric = q
                .trim_start_matches("label_values(")
                .split(',')
                .next()
                .unwrap();
            out.push(metric.trim().to_string());
        }
    }
    out
}

#[tokio::test]
async fn every_family_is_there_from_start_up() {
    let s = TestServer::start(config(vec![local("Fresh", &models().a, 1.0)])).await;
    let scrape = get(s.addr, "/metrics").await.text();
    // Drift families appear with a monitor schedule (the per-feature ones with its first
    // run); shadow ones with a shadow.
    let later = [
        "sentio_drift_violations",
        "sentio_drift_window_records",
        "sentio_drift_psi",
        "sentio_drift_js_distance",
        "sentio_drift_p_value",
        "sentio_drift_detected",
        "sentio_retrainings_total",
        "sentio_canary_promotions_total",
        "sentio_shadow_requests_total",
        "sentio_shadow_dropped_total",
        "sentio_shadow_compared_total",
        "sentio_shadow_agreements_total",
    ];
    assert_described(&scrape, &later);
    let v = version_of(&models().a);
    let labels = format!("variant=\"Fresh\",model_version=\"{v}\"");
    for f in FAMILIES
        .iter()
        .filter(|f| f.labels == ["variant", "model_version"] && !later.contains(&f.name))
    {
        let name = match f.kind {
            Kind::Histogram => format!("{}_count", f.name),
            _ => f.name.to_string(),
        };
        let found = metric(&scrape, &format!("{name}{{"), &[&labels]);
        assert!(
            found.is_some(),
            "{name}{{{labels}}} missing at start-up:\n{scrape}"
        );
    }
    for zero in [
        "sentio_invocations_total",
        "sentio_abandoned_instances_total",
    ] {
        assert_eq!(metric(&scrape, zero, &[&labels]), Some(0.0), "{zero}");
    }
    assert_eq!(metric(&scrape, "sentio_model_info", &[&labels]), Some(1.0));
    for name in [
        "sentio_capture_records_total",
        "sentio_capture_dropped_total",
    ] {
        assert_eq!(
            metric(&scrape, name, &["variant=\"Fresh\""]),
            Some(0.0),
            "{name}"
        );
    }
    for reason in ["concurrency_limit", "queue_full"] {
        let r = format!("reason=\"{reason}\"");
        assert!(
            metric(&scrape, "sentio_shed_requests_total", &[&r]).is_some(),
            "{reason}"
        );
    }
    let build = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    assert_eq!(metric(&scrape, "sentio_build_info", &[&build]), Some(1.0));
    assert_eq!(metric(&scrape, "sentio_ready ", &[]), Some(1.0));
    s.stop().await.unwrap();
}

#[tokio::test]
async fn model_info_follows_a_deployment() {
    let m = models();
    let s = TestServer::start(config(vec![local("Swapped", &m.a, 1.0)])).await;
    let (va, vb) = (version_of(&m.a), version_of(&m.b));
    let info = |scrape: &str, v: &str| {
        let l = format!("variant=\"Swapped\",model_version=\"{v}\"");
        metric(scrape, "sentio_model_info", &[&l])
    };
    assert_eq!(info(&get(s.addr, "/metrics").await.text(), &va), Some(1.0));
    let body = json!({"model": m.b.display().to_string()});
    let r = admin(
        s.addr,
        Method::POST,
        "/v1/admin/variants/Swapped/deploy",
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The old version counts down once its last request is done (none is in flight).
    let mut scrape = String::new();
    for _ in 0..100 {
        scrape = get(s.addr, "/metrics").await.text();
        if info(&scrape, &va) == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(info(&scrape, &va), Some(0.0), "{scrape}");
    assert_eq!(info(&scrape, &vb), Some(1.0), "{scrape}");
    s.stop().await.unwrap();
}
