//! A server that stalls once for 1 s: the open-loop percentiles show the
//! stall, the closed-loop ones mostly hide it.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadtest::{Config, Mode};
use tokio::time::Instant;

/// Fast, except that the `stall_at`-th request freezes every request for
/// one second.
async fn stalling_server(stall_at: u64) -> std::net::SocketAddr {
    let count = Arc::new(AtomicU64::new(0));
    let until: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    common::serve(move |_| {
        let (count, until) = (count.clone(), until.clone());
        async move {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let wait = {
                let mut until = until.lock().unwrap();
                if n == stall_at {
                    *until = Some(Instant::now() + Duration::from_secs(1));
                }
                *until
            };
            if let Some(t) = wait {
                tokio::time::sleep_until(t).await;
            }
            common::ok()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_shows_the_stall() {
    let addr = stalling_server(250).await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::OpenLoop { rate: 500.0 };
    config.connections = 8;
    config.bounds.duration = Some(common::secs(3.0));
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.unsent, 0, "{run:#?}");
    // ~500 of ~1500 requests were due during the stall: their latency from
    // the intended send time spreads over 0..1 s.
    assert!(run.latency_ms.p99_ms >= 500.0, "{:#?}", run.latency_ms);
    assert!(run.latency_ms.p90_ms >= 200.0, "{:#?}", run.latency_ms);
    assert!(run.latency_ms.max_ms >= 900.0, "{:#?}", run.latency_ms);
    // Service time (from the actual send) hides most of it.
    assert!(run.service_time_ms.p90_ms < run.latency_ms.p90_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_hides_most_of_the_stall() {
    let addr = stalling_server(250).await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::ClosedLoop;
    config.connections = 2;
    config.bounds.duration = Some(common::secs(2.5));
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    // Only the requests in flight saw the stall ...
    assert!(run.latency_ms.max_ms >= 900.0, "{:#?}", run.latency_ms);
    // ... so it barely shows in the percentiles.
    assert!(run.requests.completed > 500, "{:#?}", run.requests);
    assert!(run.latency_ms.p99_ms < 100.0, "{:#?}", run.latency_ms);
}
