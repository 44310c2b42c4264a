//! The ramp finds the capacity of a server that rate-limits itself.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadtest::{Config, Mode, RampConfig};
use tokio::time::Instant;

/// Serves at most `capacity` requests per second: each request is answered
/// `1 / capacity` after the previous one (a leaky bucket), so above the
/// capacity a queue builds up and latency grows without bound.
async fn rate_limited_server(capacity: f64) -> std::net::SocketAddr {
    let next_free = Arc::new(Mutex::new(Instant::now()));
    let interval = Duration::from_secs_f64(1.0 / capacity);
    common::serve(move |_| {
        let next_free = next_free.clone();
        async move {
            let at = {
                let mut next = next_free.lock().unwrap();
                *next = (*next).max(Instant::now()) + interval;
                *next
            };
            tokio::time::sleep_until(at).await;
            common::ok()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_known_capacity() {
    let addr = rate_limited_server(400.0).await;
    let mut config = Config::new(common::url(addr));
    config.connections = 64;
    config.mode = Mode::Ramp(RampConfig {
        start_rate: 100.0,
        step: 100.0,
        max_rate: 1000.0,
        step_duration: Duration::from_secs(1),
        p99_objective: Duration::from_millis(50),
        max_error_rate: 0.01,
        refine_steps: 0,
    });
    let report = loadtest::run(&config).await.unwrap();
    let ramp = report.ramp.as_ref().unwrap();
    let found = ramp.max_rate.unwrap();
    assert!((300.0..=400.0).contains(&found), "{ramp:#?}");
    let last = ramp.steps.last().unwrap();
    assert!(!last.passed && last.intended_rate <= 500.0, "{ramp:#?}");
    assert!(last.p99_ms > 50.0);
    // The report's run is the best passing step.
    assert_eq!(report.run.as_ref().unwrap().intended_rate, Some(found));
    assert_eq!(report.mode, "ramp");
}
