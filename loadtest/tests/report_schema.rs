//! The JSON report's fields and types, and the CLI's output files.

mod common;

use clap::Parser;
use loadtest::{Config, LoadtestArgs, Mode, SCHEMA_VERSION};
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: LoadtestArgs,
}

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
    config.bounds.duration = Some(common::secs(0.5));
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

#[test]
fn cli_writes_json_csv_and_svg() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime.block_on(common::fast_server());
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (json, csv, svg) = (path("r.json"), path("r.csv"), path("r.svg"));
    let argv = [
        "loadtest",
        &common::url(addr),
        "--mode",
        "closed",
        "-c",
        "2",
        "-d",
        "1200ms",
        "--threads",
        "1",
        "--json",
        &json,
        "--timeseries",
        &csv,
        "--svg",
        &svg,
    ];
    let args = Cli::try_parse_from(argv).unwrap().args;
    loadtest::run_cli(args).unwrap();

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["mode"], "closed_loop");
    assert!(report["run"]["intended_rate"].is_null());
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms")
    );
    assert!(lines.count() >= 2);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
}
