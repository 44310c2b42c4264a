//! The open-loop scheduler keeps its rate against a server that keeps up.

mod common;

use loadtest::{Config, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn achieves_the_intended_rate() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 500.0 };
    config.connections = 8;
    config.bounds.duration = Some(common::secs(2.0));

    let report = loadtest::run(&config).await.unwrap();
    let run = report.run.unwrap();
    assert_eq!(run.requests.scheduled, Some(1000));
    assert_eq!(run.requests.sent, 1000, "{run:#?}");
    assert_eq!(run.requests.unsent, 0);
    assert_eq!(run.requests.ok, 1000);
    assert_eq!(run.intended_rate, Some(500.0));
    let error = (run.achieved_rate - 500.0).abs() / 500.0;
    assert!(error < 0.03, "achieved {} req/s", run.achieved_rate);
    assert!(
        run.elapsed_s >= 1.99 && run.elapsed_s < 2.5,
        "{}",
        run.elapsed_s
    );
    // The series covers the two seconds.
    let total: u64 = report.timeseries.iter().map(|s| s.completed).sum();
    assert_eq!(total, 1000);
    assert!(report.timeseries.len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_bound_stops_the_open_loop() {
    let addr = common::fast_server().await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 1000.0 };
    config.connections = 4;
    config.bounds.max_requests = Some(300);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.sent, 300);
    assert_eq!(run.requests.completed, 300);
    assert!(
        run.elapsed_s >= 0.29 && run.elapsed_s < 1.0,
        "{}",
        run.elapsed_s
    );
}
