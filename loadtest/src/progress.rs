//! Live progress: each second of a run handed to a caller's function while
//! the run goes (the command line prints it as one line on stderr).
//!
//! A ticker task reports second `k` once [`SETTLE`] has passed after its
//! end, every second in order and each once (after a delay it catches up).
//! When a phase ends (a run, or a ramp step), the seconds that have ended
//! follow at once; the current one may still get answers from the next
//! ramp step, so it waits for that step's ticker or for [`report_rest`] at
//! the end of the run. A response still in flight across a second's end and
//! arriving later than `SETTLE` after it is missing from that live line
//! (the final report and time series have it).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::series::{SecondStats, SeriesSink};

/// How long after the end of a second it is reported: workers merge their
/// bucket of a second when they record in the next one or before they
/// wait into it.
const SETTLE: Duration = Duration::from_millis(250);

/// A function called with the stats of each second of a run, in order,
/// while it goes (see [`crate::RunOptions`]).
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&SecondStats) + Send + Sync>);

impl Progress {
    /// Wraps `report`, which is called from the run's async runtime: it
    /// should return quickly (printing a line is fine).
    pub fn new(report: impl Fn(&SecondStats) + Send + Sync + 'static) -> Self {
        Self(Arc::new(report))
    }

    fn report(&self, second: &SecondStats) {
        (self.0)(second)
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Reports the seconds of one phase (an open- or closed-loop run, or a
/// ramp step) while it runs.
pub(crate) struct Ticker {
    task: Option<JoinHandle<()>>,
    sink: Arc<SeriesSink>,
    progress: Option<Progress>,
}

impl Ticker {
    /// Starts reporting the seconds of `sink` to `progress` (nothing when
    /// `progress` is `None`).
    pub(crate) fn start(sink: &Arc<SeriesSink>, progress: Option<&Progress>) -> Self {
        let task = progress.map(|progress| {
            let (sink, progress) = (sink.clone(), progress.clone());
            tokio::spawn(async move {
                loop {
                    let next = sink.reported();
                    let due = sink.origin() + Duration::from_secs(next as u64 + 1) + SETTLE;
                    tokio::time::sleep_until(due.into()).await;
                    // No await between reporting and moving the cursor: an
                    // abort (see `finish`) cannot report a second twice.
                    progress.report(&sink.second(next));
                    sink.set_reported(next + 1);
                }
            })
        });
        Self {
            task,
            sink: sink.clone(),
            progress: progress.cloned(),
        }
    }

    /// Stops the ticker and reports the seconds that have ended and were
    /// not reported yet.
    pub(crate) async fn finish(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        if let Some(progress) = &self.progress {
            let ended = self.sink.origin().elapsed().as_secs() as usize;
            report_until(&self.sink, progress, ended.min(self.sink.len()));
        }
    }
}

/// At the end of a run: reports every second not reported yet, the last
/// (partial) one included.
pub(crate) fn report_rest(sink: &SeriesSink, progress: Option<&Progress>) {
    if let Some(progress) = progress {
        report_until(sink, progress, sink.len());
    }
}

/// Reports the seconds from the next unreported one up to `end` (excluded).
fn report_until(sink: &SeriesSink, progress: &Progress, end: usize) {
    for second in sink.reported()..end {
        progress.report(&sink.second(second));
        sink.set_reported(second + 1);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::SeriesRecorder;
    use std::sync::Mutex;
    use std::time::Instant;

    fn collector() -> (Progress, Arc<Mutex<Vec<SecondStats>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let progress = Progress::new(move |s| log.lock().unwrap().push(s.clone()));
        (progress, seen)
    }

    fn seconds(seen: &Mutex<Vec<SecondStats>>) -> Vec<u64> {
        seen.lock().unwrap().iter().map(|s| s.second).collect()
    }

    #[tokio::test]
    async fn reports_every_ended_second_in_order_and_the_rest_at_the_end() {
        // The series began 3.5 s ago: seconds 0, 1 and 2 have ended.
        let origin = Instant::now() - Duration::from_millis(3500);
        let sink = SeriesSink::new(origin);
        let mut w = SeriesRecorder::new(sink.clone());
        w.record_answer(origin + Duration::from_millis(10), 2000, true);
        w.record_failure(origin + Duration::from_millis(2100));
        w.record_answer(origin + Duration::from_millis(3400), 1000, false);
        w.flush();
        let (progress, seen) = collector();
        let ticker = Ticker::start(&sink, Some(&progress));
        // The ticker catches up on the seconds that ended; it is stopped
        // here, whenever it got to, and `finish` reports the rest of them.
        tokio::task::yield_now().await;
        ticker.finish().await;
        assert_eq!(seconds(&seen), vec![0, 1, 2]);
        // The current second waits for the end of the run.
        report_rest(&sink, Some(&progress));
        assert_eq!(seconds(&seen), vec![0, 1, 2, 3]);
        let seen = seen.lock().unwrap();
        assert_eq!((seen[0].completed, seen[0].errors), (1, 0));
        assert_eq!((seen[1].completed, seen[1].errors), (0, 0));
        assert_eq!((seen[2].completed, seen[2].errors), (0, 1));
        assert_eq!((seen[3].completed, seen[3].non_2xx), (1, 1));
        assert_eq!(sink.reported(), 4);
    }

    #[tokio::test]
    async fn a_second_shared_by_two_phases_is_reported_once_with_both() {
        // Phase one (a ramp step) ends 1.5 s in, during second 1.
        let origin = Instant::now() - Duration::from_millis(1500);
        let sink = SeriesSink::new(origin);
        let mut w = SeriesRecorder::new(sink.clone());
        w.record_answer(origin + Duration::from_millis(500), 1000, true);
        w.record_answer(origin + Duration::from_millis(1100), 1000, true);
        w.flush();
        let (progress, seen) = collector();
        Ticker::start(&sink, Some(&progress)).finish().await;
        assert_eq!(seconds(&seen), vec![0]);
        // Phase two answers in second 1 too.
        w.record_answer(origin + Duration::from_millis(1400), 1000, true);
        w.flush();
        Ticker::start(&sink, Some(&progress)).finish().await;
        report_rest(&sink, Some(&progress));
        assert_eq!(seconds(&seen), vec![0, 1]);
        assert_eq!(seen.lock().unwrap()[1].completed, 2);
    }

    #[tokio::test]
    async fn without_progress_nothing_runs() {
        let sink = SeriesSink::new(Instant::now());
        let ticker = Ticker::start(&sink, None);
        assert!(ticker.task.is_none());
        ticker.finish().await;
        report_rest(&sink, None);
        assert_eq!(sink.reported(), 0);
    }
}
