//! Runs stop by themselves; bad input is an error, never a panic.
//!
//! Stopping is asserted by counts and states (what the server saw against
//! what the report says, requests in flight finished), not by how long a
//! run took.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadtest::{Config, Error, Mode, PayloadSource, Stop};

/// A server that answers after `delay` and counts the requests it got.
async fn counting_server(delay: Duration) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let addr = common::serve(move |_| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            common::ok()
        }
    })
    .await;
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_stops_on_duration() {
    let (addr, count) = counting_server(Duration::ZERO).await;
    let mut config = Config::new(common::url(addr));
    config.connections = 4;
    config.bounds.duration = Some(common::secs(1.0));
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    // Workers stop once the duration is over ...
    assert!(run.elapsed_s >= 1.0, "{}", run.elapsed_s);
    // ... and the run returns only when every request sent was answered.
    assert!(run.requests.completed > 0);
    assert_eq!(run.requests.failed, 0);
    assert_eq!(run.requests.completed, run.requests.sent);
    assert_eq!(count.load(Ordering::SeqCst), run.requests.sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_stops_on_duration_against_a_slow_server() {
    // Every answer takes 300 ms: requests in flight at the end finish, and
    // nothing beyond the schedule is sent.
    let indices = Arc::new(Mutex::new(Vec::new()));
    let log = indices.clone();
    let addr = common::serve(move |seen| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(common::index_of(&seen.body));
            tokio::time::sleep(Duration::from_millis(300)).await;
            common::ok()
        }
    })
    .await;
    let payload = common::indexed_payload(100);
    let mut config = Config::new(common::url(addr));
    common::use_indexed_payload(&mut config, &payload);
    config.mode = Mode::OpenLoop { rate: 50.0 };
    config.connections = 32;
    config.bounds.duration = Some(common::secs(1.0));
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.scheduled, Some(50));
    assert_eq!(run.requests.sent + run.requests.unsent, 50);
    assert_eq!(run.requests.completed, run.requests.sent);
    let indices = indices.lock().unwrap();
    assert_eq!(indices.len() as u64, run.requests.sent);
    let last = *indices.iter().max().unwrap();
    assert!(last < 50, "request {last} is beyond the schedule");
    // The last request sent was due at last/50 s and took at least 300 ms:
    // the run waited for it.
    assert!(
        run.elapsed_s >= last as f64 / 50.0 + 0.3,
        "{} s, last request {last}",
        run.elapsed_s
    );
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
    // The server pulls the switch when it gets the 50th request.
    const TRIGGER_AT: u64 = 50;
    let stop = Stop::new();
    let count = Arc::new(AtomicU64::new(0));
    let (switch, seen) = (stop.clone(), count.clone());
    let addr = common::serve(move |_| {
        let (switch, seen) = (switch.clone(), seen.clone());
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) + 1 == TRIGGER_AT {
                switch.trigger();
            }
            common::ok()
        }
    })
    .await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 200.0 };
    config.connections = 2;
    config.bounds.duration = Some(common::secs(30.0));
    let report = loadtest::run_with_stop(&config, stop).await.unwrap();
    assert!(report.interrupted);
    let run = report.run.unwrap();
    // After the switch, a worker sends at most the one request it had
    // already taken; in-flight requests finish; the rest of the 6000
    // scheduled requests are never sent.
    let sent = run.requests.sent;
    assert!(
        (TRIGGER_AT..=TRIGGER_AT + 2).contains(&sent),
        "{sent} sent: {run:#?}"
    );
    assert_eq!(run.requests.completed, sent);
    assert_eq!(count.load(Ordering::SeqCst), sent);
    assert_eq!(run.requests.scheduled, Some(6000));
}
