//! Live progress: every second of the run is reported once, in order,
//! while it runs or at its end, and never counts more than the final
//! series has for that second.

mod common;

use std::sync::{Arc, Mutex};

use loadtest::{Config, Mode, Progress, RunOptions, SecondStats};

/// A progress function that keeps what it is given.
fn collector() -> (Progress, Arc<Mutex<Vec<SecondStats>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    (
        Progress::new(move |s| log.lock().unwrap().push(s.clone())),
        seen,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_second_is_reported_once_in_order() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 200.0 };
    config.connections = 2;
    config.bounds.max_requests = Some(300);
    let (progress, seen) = collector();
    let options = RunOptions {
        progress: Some(progress),
        ..RunOptions::default()
    };
    let report = loadtest::run_with(&config, options).await.unwrap();
    let seen = seen.lock().unwrap();
    let seconds: Vec<u64> = seen.iter().map(|s| s.second).collect();
    let expected: Vec<u64> = (0..report.timeseries.len() as u64).collect();
    assert_eq!(seconds, expected);
    for (live, last) in seen.iter().zip(&report.timeseries) {
        assert!(live.completed <= last.completed, "{live:?} vs {last:?}");
        assert!(live.errors <= last.errors, "{live:?} vs {last:?}");
    }
    assert!(seen.iter().map(|s| s.completed).sum::<u64>() <= 300);
}
