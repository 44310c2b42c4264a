//! Running one open- or closed-loop load phase with a set of workers.
//!
//! Open loop: request `i` is due at `start + i / rate`. Workers (one per
//! connection) take the next due slot from a shared counter, wait for its
//! time and send it; latency is measured from the *due* time, so a server
//! stall also counts against the requests that could not be sent while it
//! lasted (no coordinated omission). When every connection is busy, due
//! requests wait for a free one and that wait is part of their latency.
//!
//! Closed loop: each worker sends its next request as soon as the previous
//! response arrived; latency is measured from the actual send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::config::{Bounds, ClientKind};
use crate::connection::{Connection, Failure};
use crate::error::Error;
use crate::progress::{Progress, Ticker};
use crate::recorder::Recorder;
use crate::request::RequestTemplate;
use crate::series::{SeriesRecorder, SeriesSink};
use crate::stop::Stop;
use crate::target::Target;

/// Due requests still unsent this long after the end of the run are not
/// sent; they are reported as `unsent`.
const LATE_GRACE: Duration = Duration::from_secs(1);
/// Pause after a failed connect in closed loop, so a dead target does not
/// turn the generator into a busy loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// What every worker shares.
pub(crate) struct Shared {
    pub target: Arc<Target>,
    pub template: RequestTemplate,
    pub timeout: Duration,
    pub client: ClientKind,
    pub stop: Stop,
    /// Live per-second progress, if the caller asked for it.
    pub progress: Option<Progress>,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arrival {
    Open { rate: f64 },
    Closed,
}

/// One phase of load.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub arrival: Arrival,
    pub connections: usize,
    pub bounds: Bounds,
}

/// What a phase measured.
pub(crate) struct Outcome {
    pub recorder: Recorder,
    /// From the start of the phase until the last worker finished (open
    /// loop: at least the length of the schedule).
    pub elapsed: Duration,
    /// Open loop: requests due within the bounds.
    pub scheduled: Option<u64>,
    pub series: Arc<SeriesSink>,
}

struct Clock {
    start: Instant,
    end: Option<Instant>,
    max_requests: Option<u64>,
    next: AtomicU64,
    stop: Stop,
}

impl Clock {
    /// The index of the next request, or `None` when the count is reached
    /// or the run was stopped.
    fn take(&self) -> Option<u64> {
        if self.stop.is_triggered() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.max_requests {
            Some(max) if i >= max => None,
            _ => Some(i),
        }
    }
}

/// Runs `plan`; per-second data goes to `series` (or a new series that
/// starts with this phase).
pub(crate) async fn execute(
    shared: Arc<Shared>,
    plan: &Plan,
    series: Option<Arc<SeriesSink>>,
) -> Result<Outcome, Error> {
    let connections = warm_up(&shared, plan.connections).await?;
    let start = Instant::now();
    let series = series.unwrap_or_else(|| SeriesSink::new(start));
    let ticker = Ticker::start(&series, shared.progress.as_ref());
    let clock = Arc::new(Clock {
        start,
        end: plan.bounds.duration.map(|d| start + d),
        max_requests: plan.bounds.max_requests,
        next: AtomicU64::new(0),
        stop: shared.stop.clone(),
    });
    let closed = plan.arrival == Arrival::Closed;
    let mut workers = JoinSet::new();
    for connection in connections {
        let recorder = Recorder::new(Some(SeriesRecorder::new(series.clone())), closed);
        let (shared, clock) = (shared.clone(), clock.clone());
        match plan.arrival {
            Arrival::Open { rate } => {
                workers.spawn(open_worker(shared, clock, connection, recorder, rate))
            }
            Arrival::Closed => workers.spawn(closed_worker(shared, clock, connection, recorder)),
        };
    }
    let mut total = Recorder::new(None, closed);
    while let Some(joined) = workers.join_next().await {
        total.merge(joined.map_err(|e| Error::Task(e.to_string()))?);
    }
    let mut elapsed = start.elapsed();
    ticker.finish().await;
    let scheduled = scheduled(plan);
    if let (Arrival::Open { rate }, Some(n)) = (plan.arrival, scheduled) {
        // An open-loop run lasts at least its schedule, even when the last
        // answer came back before the next request would have been due;
        // unless it was stopped early: then it lasted until it stopped.
        if !shared.stop.is_triggered() {
            elapsed = elapsed.max(Duration::from_secs_f64(n as f64 / rate));
        }
    }
    Ok(Outcome {
        recorder: total,
        elapsed,
        scheduled,
        series,
    })
}

/// Open loop: the number of requests due within the bounds; closed loop:
/// `None`.
fn scheduled(plan: &Plan) -> Option<u64> {
    let Arrival::Open { rate } = plan.arrival else {
        return None;
    };
    let by_time = plan
        .bounds
        .duration
        .map(|d| (d.as_secs_f64() * rate).ceil() as u64);
    match (by_time, plan.bounds.max_requests) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Open loop: when request `index` is due, counted from the start.
fn due_offset(index: u64, rate: f64) -> Duration {
    Duration::from_secs_f64(index as f64 / rate)
}

/// Opens all connections concurrently before the clock starts. Failures
/// are not fatal here: workers retry and count them.
async fn warm_up(shared: &Arc<Shared>, n: usize) -> Result<Vec<Connection>, Error> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let shared = shared.clone();
        tasks.spawn(async move {
            let mut connection = Connection::new(&shared.target, shared.client);
            connection.warm_up(shared.timeout).await;
            connection
        });
    }
    let mut connections = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        connections.push(joined.map_err(|e| Error::Task(e.to_string()))?);
    }
    Ok(connections)
}

async fn open_worker(
    shared: Arc<Shared>,
    clock: Arc<Clock>,
    mut connection: Connection,
    mut recorder: Recorder,
    rate: f64,
) -> Recorder {
    while let Some(i) = clock.take() {
        let due = clock.start + due_offset(i, rate);
        if let Some(end) = clock.end {
            if due >= end || Instant::now() >= end + LATE_GRACE {
                break;
            }
        }
        recorder.settle_series(due);
        tokio::time::sleep_until(due.into()).await;
        let wire_bytes = connection.prepare(&shared.template, i);
        let sent_at = Instant::now();
        let outcome = connection.send(shared.timeout).await;
        recorder.record(due, sent_at, Instant::now(), wire_bytes, &outcome);
    }
    recorder.flush_series();
    recorder
}

async fn closed_worker(
    shared: Arc<Shared>,
    clock: Arc<Clock>,
    mut connection: Connection,
    mut recorder: Recorder,
) -> Recorder {
    loop {
        if clock.end.is_some_and(|end| Instant::now() >= end) {
            break;
        }
        let Some(i) = clock.take() else { break };
        let wire_bytes = connection.prepare(&shared.template, i);
        let sent_at = Instant::now();
        let outcome = connection.send(shared.timeout).await;
        recorder.record(sent_at, sent_at, Instant::now(), wire_bytes, &outcome);
        if matches!(outcome, Err(Failure::Connect)) {
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
    recorder.flush_series();
    recorder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(rate: f64, duration: Option<f64>, max_requests: Option<u64>) -> Plan {
        Plan {
            arrival: Arrival::Open { rate },
            connections: 1,
            bounds: Bounds {
                duration: duration.map(Duration::from_secs_f64),
                max_requests,
            },
        }
    }

    #[test]
    fn the_schedule_is_evenly_spaced_at_the_rate() {
        assert_eq!(due_offset(0, 500.0), Duration::ZERO);
        assert_eq!(due_offset(1, 500.0), Duration::from_millis(2));
        assert_eq!(due_offset(999, 500.0), Duration::from_millis(1998));
        assert_eq!(due_offset(3, 0.5), Duration::from_secs(6));
    }

    #[test]
    fn scheduled_counts_the_requests_due_within_the_bounds() {
        assert_eq!(scheduled(&open(500.0, Some(2.0), None)), Some(1000));
        assert_eq!(scheduled(&open(3.0, Some(0.5), None)), Some(2));
        assert_eq!(scheduled(&open(500.0, Some(2.0), Some(300))), Some(300));
        assert_eq!(scheduled(&open(500.0, None, Some(300))), Some(300));
        let closed = Plan {
            arrival: Arrival::Closed,
            ..open(1.0, Some(1.0), None)
        };
        assert_eq!(scheduled(&closed), None);
    }
}
