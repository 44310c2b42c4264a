//! A server that stalls once for 1 s. The open loop keeps scheduling during
//! the stall and charges the wait to every request that was due in it, so
//! the stall shows in its percentiles; the closed loop stops sending while
//! it waits (coordinated omission), so the stall touches only the requests
//! in flight.
//!
//! The server names each response's "variant": `stalled` if the request
//! arrived while the stall lasted, `fast` otherwise, so the report counts
//! exactly how many requests the server itself held. Latency assertions are
//! lower bounds that follow from the server's own 1 s sleep (a slower
//! machine only makes them larger); runs are bounded by request count, so
//! nothing is left unsent however late the generator runs.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::HeaderValue;
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
                until.filter(|t| *t > Instant::now())
            };
            if let Some(t) = wait {
                tokio::time::sleep_until(t).await;
            }
            let mut response = common::ok();
            let variant = if wait.is_some() { "stalled" } else { "fast" };
            response.headers_mut().insert(
                "x-amzn-invoked-production-variant",
                HeaderValue::from_static(variant),
            );
            response
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
    config.bounds.max_requests = Some(1500);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.completed, 1500, "{run:#?}");
    // The server held at most one request per connection ...
    let stalled = run.variants["stalled"].count;
    assert!((1..=8).contains(&stalled), "{stalled} stalled");
    // ... yet the ~500 requests due during the stall all waited for it:
    // from their intended send times, their latencies spread over 0..1 s.
    assert!(run.latency_ms.max_ms >= 1000.0, "{:#?}", run.latency_ms);
    assert!(run.latency_ms.p99_ms >= 500.0, "{:#?}", run.latency_ms);
    assert!(run.latency_ms.p90_ms >= 200.0, "{:#?}", run.latency_ms);
    // Requests the server answered at once carry that wait too.
    let fast = &run.variants["fast"];
    assert_eq!(fast.count + stalled, 1500);
    assert!(fast.latency_ms.p90_ms >= 200.0, "{:#?}", fast.latency_ms);
    // Service time (from the actual send) is never above the latency.
    assert!(run.service_time_ms.p90_ms <= run.latency_ms.p90_ms);
    assert!(run.service_time_ms.p99_ms <= run.latency_ms.p99_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_hides_most_of_the_stall() {
    let addr = stalling_server(250).await;
    let mut config = Config::new(common::url(addr));
    config.mode = Mode::ClosedLoop;
    config.connections = 2;
    config.bounds.max_requests = Some(1000);
    let run = loadtest::run(&config).await.unwrap().run.unwrap();
    assert_eq!(run.requests.completed, 1000, "{run:#?}");
    // Each worker waits for its answer before sending again: during the
    // stall nothing new was sent, so only the requests in flight saw it ...
    let stalled = run.variants["stalled"].count;
    assert!((1..=2).contains(&stalled), "{stalled} stalled");
    assert!(run.latency_ms.max_ms >= 1000.0, "{:#?}", run.latency_ms);
    // ... fewer than 1% of the samples: the percentiles up to p99 are made
    // of requests the stall did not touch; it shows only in the max.
    assert!(stalled * 100 < run.requests.completed);
}
