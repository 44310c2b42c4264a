//! The reports people look at, produced by real runs and looked at as pictures in headless
//! Chromium (Debian's `chromium`, installed by scripts/setup.sh): `evaluation.html` of a
//! tiny training, the drift `report.html` of a monitoring run over a shifted capture, and
//! the load-test SVG of a short run against a local server. Each page is loaded with
//! `--dump-dom` (the DOM after load: the charts are there, with non-empty shapes, axis
//! labels and the context fields) and screenshotted into
//! `target/tmp/reports-screenshots/` (not committed).
use monitoring::baseline;
use monitoring::capture::{CaptureFormat, CaptureRecord, Exchange};
use monitoring::drift::{run_once, MonitorConfig, RunStatus};
use monitoring::profile::{Current, Profiler};
use scraper::{ElementRef, Html, Selector};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// One Chromium at a time (the machine is small).
static CHROMIUM: Mutex<()> = Mutex::new(());

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "headless Chromium is needed to check the HTML and SVG reports, and no `chromium` \
             is on PATH: run scripts/setup.sh (it installs Debian's chromium package)"
        )
    })
}

/// A scratch folder of this test binary under target/tmp, emptied first.
fn work(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reports-work")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs headless Chromium on `page` with `args` (a fresh profile each time); its stdout.
fn run_chromium(page: &Path, args: &[String]) -> String {
    let _one = CHROMIUM.lock().unwrap_or_else(|p| p.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // A hung browser must not hang the suite: it is killed after two minutes.
    let mut status = None;
    for _ in 0..1200 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.is_some_and(|s| s.success()),
        "chromium {args:?} {url} failed ({status:?}): {err}"
    );
    out
}

/// The DOM of `page` after load.
fn dom(page: &Path) -> Html {
    let html = run_chromium(page, &["--dump-dom".to_string()]);
    assert!(html.len() > 200, "empty DOM of {}: {html}", page.display());
    Html::parse_document(&html)
}

/// Writes a screenshot of `page` to target/tmp/reports-screenshots/`name`.png and checks
/// that it is a PNG of some substance.
fn screenshot(page: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    run_chromium(
        page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,1600".to_string(),
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280×1600 page compresses to a few kilobytes; charts and text do not.
    assert!(
        bytes.len() > 20_000,
        "{}: {} bytes",
        png.display(),
        bytes.len()
    );
    png
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn texts(root: ElementRef<'_>, selector: &str) -> Vec<String> {
    root.select(&sel(selector))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

fn number(e: &ElementRef<'_>, attr: &str) -> f64 {
    e.value()
        .attr(attr)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Every `svg.chart` of the page has drawn shapes of non-zero size; the chart ids found.
fn check_charts(doc: &Html) -> Vec<String> {
    let charts: Vec<ElementRef> = doc.select(&sel("svg.chart")).collect();
    assert!(!charts.is_empty(), "no charts");
    for c in &charts {
        let id = c.value().attr("id").unwrap_or("?").to_string();
        assert!(
            number(c, "width") > 0.0 && number(c, "height") > 0.0,
            "{id}"
        );
        let rects = c
            .select(&sel("rect"))
            .filter(|r| r.value().attr("class") != Some("background"))
            .filter(|r| number(r, "width") > 0.0 && number(r, "height") > 0.0)
            .count();
        let lines = c
            .select(&sel("polyline"))
            .filter(|p| p.value().attr("points").unwrap_or("").split(' ').count() >= 2)
            .count();
        let drawn = c.select(&sel(".series")).count();
        assert!(drawn > 0, "{id}: no series");
        assert!(rects + lines > 1, "{id}: nothing of non-zero size drawn");
        let ticks = texts(*c, "text.tick");
        assert!(ticks.len() >= 2, "{id}: ticks {ticks:?}");
    }
    charts
        .iter()
        .map(|c| c.value().attr("id").unwrap_or("").to_string())
        .collect()
}

/// `(name, value)` rows of the report's header.
fn context(doc: &Html) -> Vec<(String, String)> {
    let root = doc.root_element();
    texts(root, "dl.context dt")
        .into_iter()
        .zip(texts(root, "dl.context dd"))
        .collect()
}

/// A model trained on a few synthetic reviews, shared by the tests of this file.
fn model() -> &'static (PathBuf, PathBuf) {
    static MODEL: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = work("model");
        let data = dir.join("reviews.csv");
        train::demo::write_csv(&data, 900, 7).unwrap();
        let mut cfg = train::TrainConfig::for_architecture(train::Architecture::FastText);
        cfg.device = models::DeviceChoice::Cpu;
        cfg.epochs = 4;
        cfg.patience = 4;
        cfg.learning_rate = 0.01;
        cfg.dim = 16;
        cfg.bigram_buckets = 5000;
        cfg.vocab_size = 2000;
        cfg.progress = false;
        let job = train::job::TrainJob {
            data: train::DataConfig::new(&data),
            validation: train::ValidationConfig::default(),
            split: train::SplitConfig::default(),
            train: cfg,
            out: dir.join("model"),
        };
        let result = train::job::run(&job).unwrap();
        (result.artifact.dir, data)
    })
}

#[test]
fn evaluation_page_shows_matrix_metrics_curves_and_calibration() {
    let (model, _) = model();
    let page = model.join("evaluation.html");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(
        json["calibration"]["bins"].as_array().map(Vec::len),
        Some(10)
    );
    let source = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no scripts, nothing fetched (the only URL is the SVG namespace).
    assert!(!source.contains("<script") && !source.contains("src="));
    assert!(!source
        .replace("http://www.w3.org/2000/svg", "")
        .contains("http"));

    let doc = dom(&page);
    let charts = check_charts(&doc);
    for id in [
        "confusion-matrix",
        "per-class",
        "loss-curve",
        "validation-curve",
        "reliability",
        "confidence-histogram",
    ] {
        assert!(charts.iter().any(|c| c == id), "no chart {id}: {charts:?}");
    }
    let root = doc.root_element();
    // The heat map: one cell per pair of classes, with its count printed.
    let matrix = doc.select(&sel("svg#confusion-matrix")).next().unwrap();
    assert_eq!(matrix.select(&sel("rect.cell")).count(), 9);
    let counts: usize = texts(matrix, "text.value")
        .iter()
        .map(|t| t.parse::<usize>().unwrap())
        .sum();
    assert_eq!(counts as u64, json["n"].as_u64().unwrap());
    // Curves: one point per epoch, axes titled.
    let loss = doc.select(&sel("svg#loss-curve")).next().unwrap();
    let labels = texts(loss, "text.axis-label");
    assert_eq!(labels, ["mean cross-entropy", "epoch"]);
    assert!(loss.select(&sel("circle")).count() >= 2);
    let rel = texts(
        doc.select(&sel("svg#reliability")).next().unwrap(),
        "text.axis-label",
    );
    assert_eq!(rel, ["accuracy", "confidence (top-class probability)"]);
    // The per-class table and the header.
    let classes = texts(root, "#per-class-table td.name");
    assert_eq!(classes, ["negative", "neutral", "positive"]);
    let ctx = context(&doc);
    let keys: Vec<&str> = ctx.iter().map(|(k, _)| k.as_str()).collect();
    for k in [
        "model version",
        "evaluated on",
        "architecture",
        "best epoch",
    ] {
        assert!(keys.contains(&k), "{k} missing from {ctx:?}");
    }
    let version = models::artifact::read_version(model).unwrap();
    assert!(ctx.contains(&("model version".into(), version)), "{ctx:?}");
    screenshot(&page, "evaluation");
}

#[test]
fn drift_report_names_what_it_judges_and_draws_its_histograms() {
    let (model, data) = model();
    let dir = work("drift");
    // A baseline of in-distribution reviews, profiled with the model's tokenizer.
    let profiler = Profiler::load(model).unwrap();
    let prepared = train::job::prepare(&train::DataConfig::new(data), &Default::default()).unwrap();
    let ds = &prepared.dataset;
    let texts_: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
    let mut profiled = Current::default();
    profiled.add_texts(&texts_, &profiler);
    let (labels, predicted) = (&ds.label_names, &ds.labels);
    let (stats, constraints) = baseline::from_profile(&profiled, predicted, labels);
    let baseline_dir = dir.join("baseline");
    baseline::write(&baseline_dir, &stats, &constraints).unwrap();

    // A capture of shifted texts, as the endpoint writes it.
    let hour = dir
        .join("capture/reviews/AllTraffic")
        .join(chrono::Utc::now().format("%Y/%m/%d/%H").to_string());
    std::fs::create_dir_all(&hour).unwrap();
    let mut lines = Vec::new();
    for i in 0..400 {
        let input = serde_json::json!({ "text": format!("Quarterly semiconductor revenue guidance exceeded consensus by {i} basis points") });
        let output = serde_json::json!({ "label": "neutral" });
        let (input, output) = (input.to_string(), output.to_string());
        let id = format!("id-{i}");
        let e = Exchange::json("AllTraffic", "v1", &id, input.as_bytes(), output.as_bytes());
        serde_json::to_writer(
            &mut lines,
            &CaptureRecord::new(&e, &CaptureFormat::default()),
        )
        .unwrap();
        lines.push(b'\n');
    }
    std::fs::write(hour.join("part.jsonl"), lines).unwrap();

    let out = dir.join("out");
    let mut cfg = MonitorConfig::one(&dir.join("capture/reviews/AllTraffic"), &baseline_dir, &out);
    cfg.baselines = monitoring::drift::Baselines::One {
        baseline_dir: baseline_dir.clone(),
        model_dir: Some(model.clone()),
    };
    cfg.window = Some(Duration::from_secs(3600));
    let run = run_once(&cfg).unwrap().into_single().unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert!(!run.violations.is_empty(), "the shifted texts drift");

    let page = out.join("report.html");
    let doc = dom(&page);
    let charts = check_charts(&doc);
    assert!(charts.iter().any(|c| c == "psi"), "{charts:?}");
    assert_eq!(
        charts
            .iter()
            .filter(|c| c.starts_with("histogram-"))
            .count(),
        run.features.len()
    );
    let first = doc.select(&sel("svg#histogram-0")).next().unwrap();
    assert_eq!(
        texts(first, "text.axis-label"),
        [
            "share of values",
            &format!("{} bucket", run.features[0].name)
        ]
    );
    assert!(texts(first, "text.value").iter().all(|t| t.ends_with('%')));
    let legend = texts(first, ".legend text");
    assert_eq!(legend, ["baseline", "current"]);
    let ctx = context(&doc);
    let get = |k: &str| {
        ctx.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} missing from {ctx:?}"))
    };
    assert_eq!(get("endpoint"), "reviews");
    assert_eq!(get("variant"), "AllTraffic");
    assert_eq!(
        get("model version"),
        models::artifact::read_version(model).unwrap()
    );
    assert_eq!(get("baseline"), baseline_dir.display().to_string());
    let window = get("window");
    let (from, to) = window.split_once(" to ").expect("a window from … to …");
    let from: chrono::DateTime<chrono::Utc> = from.parse().unwrap();
    let to: chrono::DateTime<chrono::Utc> = to.parse().unwrap();
    assert_eq!(to - from, chrono::Duration::hours(1), "{window}");
    screenshot(&page, "drift");
}

/// Answers every request with 200, every fifth with 503; one thread per connection.
fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || serve_connection(stream, &count));
        }
    });
    addr
}

fn serve_connection(stream: TcpStream, count: &AtomicU64) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let response: &[u8] = if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(5) {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        };
        if writer.write_all(response).is_err() {
            return;
        }
    }
}

#[test]
fn loadtest_plot_shows_throughput_errors_and_every_percentile() {
    let addr = http_server();
    let dir = work("loadtest");
    let mut config = loadtest::Config::new(format!("http://{addr}/invocations"));
    config.mode = loadtest::Mode::OpenLoop { rate: 200.0 };
    config.connections = 4;
    config.bounds.max_requests = Some(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(loadtest::run(&config)).unwrap();
    assert_eq!(report.timeseries.iter().map(|s| s.non_2xx).sum::<u64>(), 60);
    let page = dir.join("loadtest.svg");
    loadtest::write_svg(&report, &page).unwrap();

    let doc = dom(&page);
    let root = doc.root_element();
    let by_id = |id: &str| {
        doc.select(&sel(&format!("#{id}")))
            .next()
            .unwrap_or_else(|| panic!("no #{id}"))
    };
    let mut strokes = Vec::new();
    for name in [
        "throughput",
        "intended",
        "errors",
        "p50",
        "p90",
        "p99",
        "max",
    ] {
        let path = by_id(&format!("series-{name}"));
        let d = path.value().attr("d").unwrap_or("");
        assert!(d.starts_with('M') && d.len() > 4, "series {name}: {d:?}");
        let style = (
            path.value().attr("stroke").unwrap_or("").to_string(),
            path.value()
                .attr("stroke-dasharray")
                .unwrap_or("")
                .to_string(),
        );
        assert!(!style.0.is_empty() && style.0 != "none", "{name}");
        if ["p50", "p90", "p99", "max"].contains(&name) {
            assert!(
                !strokes.contains(&style),
                "{name} looks like another percentile"
            );
            strokes.push(style);
        }
    }
    let all = texts(root, "text");
    for label in [
        "throughput (req/s)",
        "errors (per s)",
        "latency (ms)",
        "time since start (s)",
        "p50",
        "p90",
        "p99",
        "max",
        "failed + non-2xx",
    ] {
        assert!(all.iter().any(|t| t == label), "{label} missing: {all:?}");
    }
    // Value ticks of each panel are evenly spaced from 0.
    for p in 0..3 {
        let panel = by_id(&format!("panel-{p}"));
        let ticks: Vec<f64> = panel
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|e| e.value().name() == "text" && e.value().attr("text-anchor") == Some("end"))
            .map(|e| e.text().collect::<String>().parse().unwrap())
            .collect();
        assert!(ticks.len() >= 3 && ticks[0] == 0.0, "panel {p}: {ticks:?}");
        let step = ticks[1] - ticks[0];
        assert!(
            ticks.windows(2).all(|w| (w[1] - w[0] - step).abs() < 1e-9),
            "panel {p}: {ticks:?}"
        );
    }
    screenshot(&page, "loadtest");
}
