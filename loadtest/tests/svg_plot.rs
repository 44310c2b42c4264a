//! The SVG plot parses as XML and shows throughput, errors and the latency
//! percentiles as separate, non-empty series with a legend, titled with the
//! target, mode and rate.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use loadtest::{Config, Mode, Report};
use roxmltree::{Document, Node};

const SERIES: [&str; 6] = ["throughput", "errors", "p50", "p90", "p99", "max"];

fn by_id<'a>(doc: &'a Document, id: &str) -> Option<Node<'a, 'a>> {
    doc.descendants().find(|n| n.attribute("id") == Some(id))
}

/// The points of a path: its M and L commands.
fn points(d: &str) -> usize {
    d.split_whitespace()
        .filter(|c| c.starts_with('M') || c.starts_with('L'))
        .count()
}

fn texts(doc: &Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

/// A report as written by an open-loop run of three seconds.
fn three_seconds() -> Report {
    let second = |s: u64, completed: u64, errors: u64, p50: f64| {
        serde_json::json!({
            "second": s, "completed": completed, "errors": errors, "non_2xx": 1,
            "p50_ms": p50, "p90_ms": p50 * 2.0, "p99_ms": p50 * 4.0, "max_ms": p50 * 4.0
        })
    };
    let latency = serde_json::json!({
        "count": 1490, "min_ms": 0.1, "mean_ms": 1.0, "p50_ms": 1.0, "p90_ms": 2.0,
        "p99_ms": 4.0, "p99_9_ms": 4.0, "max_ms": 4.0
    });
    serde_json::from_value(serde_json::json!({
        "schema_version": 1, "tool": "loadtest", "tool_version": "0.1.0",
        "mode": "open_loop", "target": "http://127.0.0.1:8080/invocations",
        "connections": 16, "started_at_unix_ms": 0, "interrupted": false,
        "run": {
            "intended_rate": 500.0, "achieved_rate": 498.0, "elapsed_s": 3.0,
            "requests": { "scheduled": 1500, "sent": 1500, "completed": 1490, "ok": 1487,
                          "non_2xx": 3, "failed": 10, "unsent": 0 },
            "status_codes": { "200": 1487, "503": 3 },
            "errors": { "connect": 0, "timeout": 10, "io": 0 },
            "bytes": { "sent": 1, "received": 1 },
            "latency_ms": latency, "service_time_ms": latency, "variants": {}
        },
        "ramp": null,
        "timeseries": [second(0, 495, 0, 1.0), second(1, 500, 10, 3.0), second(2, 495, 0, 1.5)]
    }))
    .unwrap()
}

#[test]
fn every_series_is_a_visible_path_with_a_legend() {
    let svg = loadtest::render_svg(&three_seconds());
    let doc = Document::parse(&svg).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(!svg.contains("href"), "no links to external resources");
    assert!(doc.descendants().all(|n| !n.has_tag_name("script")));

    for name in SERIES {
        let path =
            by_id(&doc, &format!("series-{name}")).unwrap_or_else(|| panic!("no series {name}"));
        assert!(path.has_tag_name("path"));
        let d = path.attribute("d").unwrap_or_default();
        assert_eq!(points(d), 3, "{name}: one point per second: {d:?}");
        assert!(path.attribute("stroke").is_some_and(|c| c != "none"));
        assert_eq!(path.attribute("fill"), Some("none"));
    }
    // Open loop: the intended rate as a reference line.
    let intended = by_id(&doc, "series-intended").unwrap();
    assert!(!intended.attribute("d").unwrap().is_empty());
    // p99 and max are equal in these seconds: p99 is drawn dashed on top of
    // max, so both stay visible.
    let attr = |id: &str, a: &str| by_id(&doc, id).unwrap().attribute(a).map(str::to_string);
    assert!(attr("series-p99", "stroke-dasharray").is_some());
    assert_ne!(attr("series-p99", "stroke"), attr("series-max", "stroke"));
    let order: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("id"))
        .filter(|id| id.starts_with("series-"))
        .collect();
    let pos = |id: &str| order.iter().position(|x| *x == id).unwrap();
    assert!(pos("series-max") < pos("series-p99"), "{order:?}");

    let texts = texts(&doc);
    for label in ["throughput", "failed + non-2xx", "p50", "p90", "p99", "max"] {
        assert!(
            texts.iter().any(|t| t == label),
            "legend lacks {label}: {texts:?}"
        );
    }
    for unit in [
        "throughput (req/s)",
        "errors (per s)",
        "latency (ms)",
        "time since start (s)",
    ] {
        assert!(texts.iter().any(|t| t == unit), "axis label {unit} missing");
    }
    let title = by_id(&doc, "title").unwrap().text().unwrap();
    assert!(
        title.contains("http://127.0.0.1:8080/invocations"),
        "{title}"
    );
    assert!(
        title.contains("open loop") && title.contains("500 req/s"),
        "{title}"
    );
}

#[test]
fn ticks_are_evenly_spaced() {
    let svg = loadtest::render_svg(&three_seconds());
    let doc = Document::parse(&svg).unwrap();
    // The value ticks of the latency panel: labels right-aligned at the axis.
    let panel = by_id(&doc, "panel-2").unwrap();
    let ticks: Vec<f64> = panel
        .children()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("end"))
        .map(|n| n.text().unwrap().parse().unwrap())
        .collect();
    assert!(ticks.len() >= 3, "{ticks:?}");
    assert_eq!(ticks[0], 0.0);
    let step = ticks[1] - ticks[0];
    for pair in ticks.windows(2) {
        assert!((pair[1] - pair[0] - step).abs() < 1e-9, "{ticks:?}");
    }
    // The axis reaches the highest value plotted (max 12 ms).
    assert!(*ticks.last().unwrap() >= 12.0, "{ticks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_plots_its_errors_too() {
    // Every fifth answer is a 503.
    let count = Arc::new(AtomicU64::new(0));
    let addr = common::serve(move |_| {
        let count = count.clone();
        async move {
            let mut response = common::ok();
            if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(5) {
                *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            }
            response
        }
    })
    .await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 400.0 };
    config.connections = 4;
    config.bounds.max_requests = Some(100);
    let report = loadtest::run(&config).await.unwrap();
    assert_eq!(report.timeseries.iter().map(|s| s.non_2xx).sum::<u64>(), 20);
    let svg = loadtest::render_svg(&report);
    let doc = Document::parse(&svg).unwrap();
    for name in SERIES {
        let d = by_id(&doc, &format!("series-{name}"))
            .and_then(|p| p.attribute("d"))
            .unwrap_or_default();
        assert!(points(d) >= 1, "{name}: {d:?}");
    }
    let title = by_id(&doc, "title").unwrap().text().unwrap();
    assert!(title.contains(&common::url(addr)) && title.contains("400 req/s"));
}
