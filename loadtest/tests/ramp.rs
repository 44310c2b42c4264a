//! The ramp finds the capacity of a server whose capacity does not depend
//! on the machine: it refuses (429) every request past the 650th of a step.
//!
//! Each step opens its own connections and numbers its requests from 0; the
//! payload carries that number, so the server knows where in the step a
//! request is, whenever it arrives. The p99 objective is out of reach of
//! scheduling delays and the achieved-rate criterion is off, so only the
//! refusals decide a step: 200, 400 and 600 req/s pass, 800 fails (150 of
//! 800 refused), then bisection tries 700 (fails) and 650 (passes).

mod common;

use std::time::Duration;

use hyper::StatusCode;
use std::sync::{Arc, Mutex};

use loadtest::{Config, Mode, Progress, RampConfig, RunOptions};

const CAPACITY: u64 = 650;

async fn capped_server() -> std::net::SocketAddr {
    common::serve(|seen| async move {
        let mut response = common::ok();
        if common::index_of(&seen.body) >= CAPACITY {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
        response
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_known_capacity() {
    let addr = capped_server().await;
    let payload = common::indexed_payload(1000);
    let mut config = Config::new(common::url(addr));
    common::use_indexed_payload(&mut config, &payload);
    config.connections = 16;
    config.mode = Mode::Ramp(RampConfig {
        start_rate: 200.0,
        step: 200.0,
        max_rate: 1000.0,
        step_duration: Duration::from_secs(1),
        p99_objective: Duration::from_secs(60),
        max_error_rate: 0.01,
        min_achieved_share: 0.0,
        refine_steps: 2,
    });
    let live = Arc::new(Mutex::new(Vec::new()));
    let log = live.clone();
    let options = RunOptions {
        progress: Some(Progress::new(move |s| log.lock().unwrap().push(s.second))),
        ..RunOptions::default()
    };
    let report = loadtest::run_with(&config, options).await.unwrap();
    let ramp = report.ramp.as_ref().unwrap();

    let tried: Vec<f64> = ramp.steps.iter().map(|s| s.intended_rate).collect();
    assert_eq!(
        tried,
        vec![200.0, 400.0, 600.0, 800.0, 700.0, 650.0],
        "{ramp:#?}"
    );
    let passed: Vec<bool> = ramp.steps.iter().map(|s| s.passed).collect();
    assert_eq!(
        passed,
        vec![true, true, true, false, false, true],
        "{ramp:#?}"
    );
    // Error rates are exactly the refused share of each step.
    let errors: Vec<f64> = ramp.steps.iter().map(|s| s.error_rate).collect();
    let expected = [0.0, 0.0, 0.0, 150.0 / 800.0, 50.0 / 700.0, 0.0];
    for (got, want) in errors.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{errors:?}");
    }
    assert!(ramp.steps.iter().all(|s| s.unsent == 0));
    assert_eq!(ramp.max_rate, Some(650.0));

    // The report's run is the best passing step.
    let best = report.run.as_ref().unwrap();
    assert_eq!(best.intended_rate, Some(650.0));
    assert_eq!(best.requests.sent, 650);
    assert_eq!(best.status_codes.get("429"), None);
    assert_eq!(report.mode, "ramp");
    // The series covers every step: 200 + 400 + 600 + 800 + 700 + 650.
    assert_eq!(report.responses(), 3350);
    // Live progress went through every second of the search once, in order.
    let expected: Vec<u64> = (0..report.timeseries.len() as u64).collect();
    assert_eq!(*live.lock().unwrap(), expected);
}
