//! The open-loop scheduler: request `i` is due at `start + i / rate`, never
//! sent before that, each sent once, and the run lasts at least its
//! schedule. The assertions hold however busy the machine is: lateness is
//! the machine's, and it is charged to latency (see coordinated_omission.rs).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadtest::{Config, Mode, RunReport};

/// Arrival time of each request index at the server.
type Arrivals = Arc<Mutex<Vec<(u64, Instant)>>>;

async fn recording_server() -> (std::net::SocketAddr, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let log = arrivals.clone();
    let addr = common::serve(move |seen| {
        let log = log.clone();
        async move {
            let at = Instant::now();
            log.lock().unwrap().push((common::index_of(&seen.body), at));
            common::ok()
        }
    })
    .await;
    (addr, arrivals)
}

/// No request reached the server before it was due.
fn none_early(arrivals: &Arrivals, before_start: Instant, rate: f64) {
    for &(i, at) in arrivals.lock().unwrap().iter() {
        let due = before_start + Duration::from_secs_f64(i as f64 / rate);
        assert!(at >= due, "request {i} arrived before it was due");
    }
}

/// Latency from the intended send time is never below the service time
/// from the actual send, so neither is any of its percentiles.
fn intended_dominates_service(run: &RunReport) {
    let (l, s) = (&run.latency_ms, &run.service_time_ms);
    assert_eq!(l.count, s.count);
    for (a, b) in [
        (l.p50_ms, s.p50_ms),
        (l.p90_ms, s.p90_ms),
        (l.p99_ms, s.p99_ms),
        (l.max_ms, s.max_ms),
    ] {
        assert!(a >= b, "latency {l:?} below service time {s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_each_scheduled_request_once_and_never_early() {
    let (addr, arrivals) = recording_server().await;
    let payload = common::indexed_payload(1000);
    let mut config = Config::new(common::url(addr));
    common::use_indexed_payload(&mut config, &payload);
    config.mode = Mode::OpenLoop { rate: 500.0 };
    config.connections = 8;
    config.bounds.max_requests = Some(1000);

    let before_start = Instant::now();
    let report = loadtest::run(&config).await.unwrap();
    let run = report.run.as_ref().unwrap();
    assert_eq!(run.requests.scheduled, Some(1000));
    assert_eq!(run.requests.sent, 1000, "{run:#?}");
    assert_eq!(run.requests.unsent, 0);
    assert_eq!(run.requests.ok, 1000);
    assert_eq!(run.intended_rate, Some(500.0));

    let mut seen: Vec<u64> = arrivals.lock().unwrap().iter().map(|a| a.0).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..1000).collect::<Vec<_>>(),
        "each index exactly once"
    );
    none_early(&arrivals, before_start, 500.0);

    // The run lasts at least its schedule, so it never beats the rate.
    assert!(run.elapsed_s >= 2.0, "{}", run.elapsed_s);
    assert!(run.achieved_rate <= 500.0 + 1e-9, "{}", run.achieved_rate);
    intended_dominates_service(run);
    assert_eq!(report.responses(), 1000, "the series counts every response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_schedules_rate_times_duration() {
    let (addr, arrivals) = recording_server().await;
    let payload = common::indexed_payload(2000);
    let mut config = Config::new(common::url(addr));
    common::use_indexed_payload(&mut config, &payload);
    config.mode = Mode::OpenLoop { rate: 500.0 };
    config.connections = 8;
    config.bounds.duration = Some(common::secs(2.0));

    let before_start = Instant::now();
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.scheduled, Some(1000));
    // A request is unsent only if no connection was free for it until 1 s
    // after the end; either way every scheduled request is accounted for.
    assert_eq!(run.requests.sent + run.requests.unsent, 1000, "{run:#?}");
    assert_eq!(
        run.requests.completed + run.requests.failed,
        run.requests.sent
    );
    let arrivals_seen = arrivals.lock().unwrap().len() as u64;
    assert_eq!(arrivals_seen, run.requests.sent);
    assert!(
        arrivals.lock().unwrap().iter().all(|a| a.0 < 1000),
        "nothing beyond the schedule"
    );
    none_early(&arrivals, before_start, 500.0);
    assert!(run.elapsed_s >= 2.0, "{}", run.elapsed_s);
    intended_dominates_service(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_bound_stops_the_open_loop() {
    let (addr, arrivals) = recording_server().await;
    let payload = common::indexed_payload(1000);
    let mut config = Config::new(common::url(addr));
    common::use_indexed_payload(&mut config, &payload);
    config.mode = Mode::OpenLoop { rate: 1000.0 };
    config.connections = 4;
    config.bounds.max_requests = Some(300);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.sent, 300);
    assert_eq!(run.requests.completed, 300);
    let mut seen: Vec<u64> = arrivals.lock().unwrap().iter().map(|a| a.0).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..300).collect::<Vec<_>>());
    assert!(run.elapsed_s >= 0.3, "{}", run.elapsed_s);
}
