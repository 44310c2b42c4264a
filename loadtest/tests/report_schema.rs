//! The JSON report's fields and types, and the files written from it.

mod common;

use loadtest::{Config, Mode, SCHEMA_VERSION};
use serde_json::Value;

fn number(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for key in path.split('.') {
        cur = &cur[key];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}

fn check_latency(v: &Value) {
    for key in [
        "count", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms",
    ] {
        assert!(v[key].is_number(), "latency field {key} missing in {v}");
    }
    assert!(v["p50_ms"].as_f64() <= v["p99_ms"].as_f64());
    assert!(v["p99_ms"].as_f64() <= v["max_ms"].as_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_json_has_the_documented_fields() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 200.0 };
    config.connections = 2;
    config.bounds.max_requests = Some(100);
    let report = loadtest::run(&config).await.unwrap();
    let json: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();

    assert_eq!(json["schema_version"], SCHEMA_VERSION);
    assert_eq!(json["tool"], "loadtest");
    assert!(json["tool_version"].is_string());
    assert_eq!(json["mode"], "open_loop");
    assert_eq!(json["target"], common::url(addr));
    assert_eq!(json["connections"], 2);
    assert!(json["started_at_unix_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(json["ramp"].is_null());

    let run = &json["run"];
    assert_eq!(number(run, "intended_rate"), 200.0);
    assert!(number(run, "achieved_rate") > 0.0);
    assert!(number(run, "elapsed_s") > 0.0);
    for key in [
        "scheduled",
        "sent",
        "completed",
        "ok",
        "non_2xx",
        "failed",
        "unsent",
    ] {
        assert!(run["requests"][key].is_u64(), "requests.{key}");
    }
    assert_eq!(run["requests"]["scheduled"], 100);
    assert_eq!(run["status_codes"]["200"], 100);
    for key in ["connect", "timeout", "io"] {
        assert_eq!(run["errors"][key], 0);
    }
    assert!(number(run, "bytes.sent") > 100.0 * 50.0);
    assert!(number(run, "bytes.received") > 100.0 * 50.0);
    check_latency(&run["latency_ms"]);
    check_latency(&run["service_time_ms"]);
    assert!(run["variants"].as_object().unwrap().is_empty());

    let series = json["timeseries"].as_array().unwrap();
    assert!(!series.is_empty());
    for key in [
        "second",
        "completed",
        "errors",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "non_2xx",
    ] {
        assert!(series[0][key].is_number(), "timeseries field {key}");
    }

    // The report parses back into its own type (floats may differ in the
    // last bit, so compare the counts).
    let back: loadtest::Report = serde_json::from_value(json).unwrap();
    let (a, b) = (back.run.unwrap(), report.run.unwrap());
    assert_eq!(a.requests, b.requests);
    assert_eq!(a.status_codes, b.status_codes);
    assert_eq!(back.timeseries.len(), report.timeseries.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_json_csv_and_svg_files() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.connections = 2;
    config.bounds.max_requests = Some(50);
    let report = loadtest::run(&config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (json, csv, svg) = (
        dir.path().join("r.json"),
        dir.path().join("r.csv"),
        dir.path().join("r.svg"),
    );
    loadtest::write_json(&report, &json).unwrap();
    loadtest::write_timeseries_csv(&report, &csv).unwrap();
    loadtest::write_svg(&report, &svg).unwrap();

    let back: loadtest::Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(back.mode, "closed_loop");
    assert_eq!(back.run.unwrap().intended_rate, None);
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms,non_2xx")
    );
    let completed: u64 = lines
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(completed, 50);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(roxmltree::Document::parse(&svg).is_ok());
    assert!(svg.contains("series-p99"));
}

#[test]
fn reports_without_non_2xx_in_the_series_still_parse() {
    // Written before `timeseries[].non_2xx` existed.
    let old = r#"{"second": 0, "completed": 5, "errors": 0, "p50_ms": 1.0,
                  "p90_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0}"#;
    let s: loadtest::SecondStats = serde_json::from_str(old).unwrap();
    assert_eq!(s.non_2xx, 0);
}
