//! Runs stop by themselves; bad input is an error, never a panic.

mod common;

use std::time::{Duration, Instant};

use clap::Parser;
use loadtest::{Config, Error, LoadtestArgs, Mode, PayloadSource};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: LoadtestArgs,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_stops_on_duration() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.connections = 4;
    config.bounds.duration = Some(common::secs(1.0));
    let started = Instant::now();
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1800), "took {took:?}");
    assert!(
        run.elapsed_s >= 1.0 && run.elapsed_s < 1.5,
        "{}",
        run.elapsed_s
    );
    assert!(run.requests.completed > 100);
    assert_eq!(run.requests.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_stops_on_duration_against_a_slow_server() {
    // Every answer takes 300 ms: requests in flight at the end finish, and
    // nothing new is sent after the duration.
    let addr = common::serve(|_| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        common::ok()
    })
    .await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 50.0 };
    config.connections = 32;
    config.bounds.duration = Some(common::secs(1.0));
    let started = Instant::now();
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert!(started.elapsed() < Duration::from_millis(2000));
    assert_eq!(run.requests.sent, 50);
    assert_eq!(run.requests.completed, 50);
    assert!(run.latency_ms.p50_ms >= 300.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_connect_errors_are_counted() {
    let addr = common::serve(|_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        common::ok()
    })
    .await;
    let mut config = Config::new(common::url(addr));
    config.connections = 2;
    config.timeout = Duration::from_millis(100);
    config.bounds.max_requests = Some(4);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.errors.timeout, 4);
    assert_eq!(run.requests.completed, 0);

    // Nobody listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = Config::new(format!("http://127.0.0.1:{port}/"));
    config.connections = 1;
    config.bounds.max_requests = Some(3);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.errors.connect, 3);
}

#[tokio::test]
async fn bad_configs_are_errors() {
    let base = || {
        let mut c = Config::new("http://127.0.0.1:9/");
        c.bounds.duration = Some(common::secs(1.0));
        c
    };
    let mut rate0 = base();
    rate0.mode = Mode::OpenLoop { rate: 0.0 };
    assert!(matches!(
        loadtest::run(&rate0).await,
        Err(Error::InvalidConfig(_))
    ));

    let mut unbounded = base();
    unbounded.bounds.duration = None;
    assert!(matches!(
        loadtest::run(&unbounded).await,
        Err(Error::InvalidConfig(_))
    ));

    let mut bad_url = base();
    bad_url.url = "http//nope".into();
    assert!(matches!(
        loadtest::run(&bad_url).await,
        Err(Error::InvalidUrl { .. })
    ));

    let mut missing = base();
    missing.payload.source = PayloadSource::Csv {
        path: "/nonexistent/reviews.csv".into(),
        column: "Review Text".into(),
    };
    assert!(matches!(
        loadtest::run(&missing).await,
        Err(Error::PayloadIo { .. })
    ));

    let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::io::Write::write_all(&mut file, b"a,b\n1,2\n").unwrap();
    let mut no_column = base();
    no_column.payload.source = PayloadSource::Csv {
        path: file.path().to_path_buf(),
        column: "Review Text".into(),
    };
    let err = loadtest::run(&no_column).await.unwrap_err();
    assert!(matches!(err, Error::MissingColumn { .. }), "{err}");
}

#[test]
fn cli_bad_input_fails_without_panicking() {
    let run = |argv: &[&str]| {
        let args = Cli::try_parse_from(std::iter::once("loadtest").chain(argv.iter().copied()))
            .unwrap()
            .args;
        loadtest::run_cli(args)
    };
    let err = run(&[
        "http://127.0.0.1:9/",
        "-d",
        "1s",
        "--payload",
        "/nonexistent.csv",
    ])
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent.csv"), "{err}");
    assert!(run(&["http://127.0.0.1:9/", "-r", "0", "-d", "1s"]).is_err());
    assert!(run(&["ftp://127.0.0.1:9/", "-d", "1s"]).is_err());
    assert!(run(&["http://127.0.0.1:9/"]).is_err());
    // A target nobody answers: the run completes, then reports failure.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let err = run(&[&url, "--mode", "closed", "-n", "2", "-c", "1"]).unwrap_err();
    assert!(format!("{err:#}").contains("no response"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_the_server_closes_connections() {
    let addr = common::serve(|_| async {
        let mut response = common::ok();
        response.headers_mut().insert(
            "connection",
            hyper::header::HeaderValue::from_static("close"),
        );
        response
    })
    .await;
    let mut config = Config::new(common::url(addr));
    config.connections = 2;
    config.bounds.max_requests = Some(50);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.completed, 50, "{run:#?}");
    assert_eq!(run.requests.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_switch_ends_the_run_early_with_a_report() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 200.0 };
    config.connections = 2;
    config.bounds.duration = Some(common::secs(30.0));
    let stop = loadtest::Stop::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.trigger();
    });
    let started = Instant::now();
    let report = loadtest::run_with_stop(&config, stop).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(report.interrupted);
    let run = report.run.unwrap();
    assert!(
        run.requests.completed > 20 && run.requests.completed < 200,
        "{run:#?}"
    );
}
