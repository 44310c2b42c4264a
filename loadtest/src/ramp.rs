//! The step/ramp search for the highest rate that holds a p99 objective.
//!
//! Open-loop steps at `start`, `start + step`, … run until one fails or the
//! maximum rate passes; then the gap between the last pass and the first
//! failure is bisected `refine_steps` times.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tracing::info;

use crate::config::{Bounds, RampConfig};
use crate::engine::{execute, Arrival, Plan, Shared};
use crate::error::Error;
use crate::report::{RampReport, RampStep, RunReport};
use crate::series::SeriesSink;
use crate::stop::Stop;

/// The search's result.
pub(crate) struct RampOutcome {
    pub report: RampReport,
    /// The run of the highest passing step.
    pub best: Option<RunReport>,
    pub series: Arc<SeriesSink>,
}

/// Runs the search against the target of `shared`.
pub(crate) async fn search(
    shared: Arc<Shared>,
    config: &RampConfig,
    connections: usize,
) -> Result<RampOutcome, Error> {
    let series = SeriesSink::new(Instant::now());
    let stop = shared.stop.clone();
    let run_step = |rate: f64| {
        let (shared, series) = (shared.clone(), series.clone());
        async move {
            let plan = Plan {
                arrival: Arrival::Open { rate },
                connections,
                bounds: Bounds {
                    duration: Some(config.step_duration),
                    max_requests: None,
                },
            };
            let outcome = execute(shared, &plan, Some(series)).await?;
            Ok(RunReport::from_outcome(&outcome, Some(rate)))
        }
    };
    let (report, best) = search_with(config, &stop, run_step).await?;
    Ok(RampOutcome {
        report,
        best,
        series,
    })
}

/// The search itself, over any way of running one step at a rate (tests
/// pass a model of a server).
async fn search_with<F, Fut>(
    config: &RampConfig,
    stop: &Stop,
    mut run_step: F,
) -> Result<(RampReport, Option<RunReport>), Error>
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Result<RunReport, Error>>,
{
    let mut steps = Vec::new();
    let mut best: Option<RunReport> = None;
    let mut failed_at: Option<f64> = None;
    let mut step = |rate: f64| {
        let run = run_step(rate);
        async move {
            let run = run.await?;
            let step = judge(config, &run);
            info!(
                rate,
                achieved = step.achieved_rate,
                p99_ms = step.p99_ms,
                error_rate = step.error_rate,
                passed = step.passed,
                "ramp step"
            );
            Ok::<_, Error>((step, run))
        }
    };

    let mut rate = config.start_rate;
    while !stop.is_triggered() {
        let (s, run) = step(rate).await?;
        let passed = s.passed;
        steps.push(s);
        if !passed {
            failed_at = Some(rate);
            break;
        }
        best = Some(run);
        rate += config.step;
        if rate > config.max_rate {
            break;
        }
    }
    if let Some(mut high) = failed_at {
        let mut low = best.as_ref().and_then(|b| b.intended_rate).unwrap_or(0.0);
        for _ in 0..config.refine_steps {
            let mid = (low + high) / 2.0;
            if mid <= 0.0 || high - low < 1.0 || stop.is_triggered() {
                break;
            }
            let (s, run) = step(mid).await?;
            let passed = s.passed;
            steps.push(s);
            if passed {
                low = mid;
                best = Some(run);
            } else {
                high = mid;
            }
        }
    }
    let report = RampReport {
        p99_objective_ms: config.p99_objective.as_secs_f64() * 1000.0,
        max_error_rate: config.max_error_rate,
        step_duration_s: config.step_duration.as_secs_f64(),
        max_rate: best.as_ref().and_then(|b| b.intended_rate),
        steps,
    };
    Ok((report, best))
}

/// Whether a step held the objective.
fn judge(config: &RampConfig, run: &RunReport) -> RampStep {
    let intended = run.intended_rate.unwrap_or(0.0);
    let objective_ms = config.p99_objective.as_secs_f64() * 1000.0;
    let error_rate = run.error_rate();
    let passed = run.requests.completed > 0
        && run.latency_ms.p99_ms <= objective_ms
        && error_rate <= config.max_error_rate
        && run.achieved_rate >= config.min_achieved_share * intended
        && run.requests.unsent == 0;
    RampStep {
        intended_rate: intended,
        achieved_rate: run.achieved_rate,
        p99_ms: run.latency_ms.p99_ms,
        error_rate,
        unsent: run.requests.unsent,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::LatencyStats;
    use crate::report::{ByteCounts, ErrorCounts, RequestCounts};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A step at `rate` as a server model would measure it: `sent`
    /// requests, `non_2xx` of them refused, p99 `p99_ms`, achieving
    /// `share` of the rate, `unsent` left over.
    fn run(rate: f64, sent: u64, non_2xx: u64, p99_ms: f64, share: f64, unsent: u64) -> RunReport {
        RunReport {
            intended_rate: Some(rate),
            achieved_rate: rate * share,
            elapsed_s: 1.0,
            requests: RequestCounts {
                scheduled: Some(sent + unsent),
                sent,
                completed: sent,
                ok: sent - non_2xx,
                non_2xx,
                failed: 0,
                unsent,
            },
            status_codes: Default::default(),
            errors: ErrorCounts {
                connect: 0,
                timeout: 0,
                io: 0,
            },
            bytes: ByteCounts {
                sent: 0,
                received: 0,
            },
            latency_ms: LatencyStats {
                count: sent,
                p99_ms,
                ..LatencyStats::default()
            },
            service_time_ms: LatencyStats::default(),
            variants: Default::default(),
        }
    }

    fn config(refine_steps: u32) -> RampConfig {
        RampConfig {
            start_rate: 100.0,
            step: 100.0,
            max_rate: 1000.0,
            step_duration: Duration::from_secs(1),
            p99_objective: Duration::from_millis(50),
            max_error_rate: 0.01,
            min_achieved_share: 0.95,
            refine_steps,
        }
    }

    /// A server that refuses every request above `capacity` per step (one
    /// step = one second), otherwise answers within 5 ms.
    async fn capped(rates: &Mutex<Vec<f64>>, capacity: f64, rate: f64) -> Result<RunReport, Error> {
        rates.lock().unwrap().push(rate);
        let sent = rate.round() as u64;
        let refused = sent.saturating_sub(capacity as u64);
        Ok(run(rate, sent, refused, 5.0, 1.0, 0))
    }

    #[tokio::test]
    async fn steps_up_to_the_first_failure_then_bisects() {
        let rates = Mutex::new(Vec::new());
        let (report, best) = search_with(&config(2), &Stop::new(), |r| capped(&rates, 430.0, r))
            .await
            .unwrap();
        // 100..400 pass, 500 fails; bisection: 450 fails, 425 passes.
        let tried: Vec<f64> = report.steps.iter().map(|s| s.intended_rate).collect();
        assert_eq!(tried, vec![100.0, 200.0, 300.0, 400.0, 500.0, 450.0, 425.0]);
        assert_eq!(*rates.lock().unwrap(), tried);
        let passed: Vec<bool> = report.steps.iter().map(|s| s.passed).collect();
        assert_eq!(passed, vec![true, true, true, true, false, false, true]);
        assert_eq!(report.max_rate, Some(425.0));
        assert_eq!(best.unwrap().intended_rate, Some(425.0));
        assert!((report.steps[4].error_rate - 70.0 / 500.0).abs() < 1e-12);
        assert_eq!(report.p99_objective_ms, 50.0);
    }

    #[tokio::test]
    async fn stops_after_the_max_rate_passes() {
        let rates = Mutex::new(Vec::new());
        let mut c = config(2);
        c.max_rate = 300.0;
        let (report, _) = search_with(&c, &Stop::new(), |r| capped(&rates, 1e9, r))
            .await
            .unwrap();
        let tried: Vec<f64> = report.steps.iter().map(|s| s.intended_rate).collect();
        assert_eq!(tried, vec![100.0, 200.0, 300.0]);
        assert_eq!(report.max_rate, Some(300.0));
    }

    #[tokio::test]
    async fn a_failing_first_step_finds_no_rate() {
        let rates = Mutex::new(Vec::new());
        let (report, best) = search_with(&config(2), &Stop::new(), |r| capped(&rates, 10.0, r))
            .await
            .unwrap();
        let tried: Vec<f64> = report.steps.iter().map(|s| s.intended_rate).collect();
        assert_eq!(tried, vec![100.0, 50.0, 25.0]);
        assert!(report.steps.iter().all(|s| !s.passed));
        assert_eq!(report.max_rate, None);
        assert!(best.is_none());
    }

    #[tokio::test]
    async fn the_stop_switch_ends_the_search() {
        let stop = Stop::new();
        let count = Mutex::new(0);
        let (report, _) = search_with(&config(2), &stop, |rate| {
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n == 2 {
                stop.trigger();
            }
            std::future::ready(Ok(run(rate, 100, 0, 1.0, 1.0, 0)))
        })
        .await
        .unwrap();
        assert_eq!(report.steps.len(), 2);
        assert_eq!(report.max_rate, Some(200.0));
    }

    #[test]
    fn each_criterion_can_fail_a_step() {
        let c = config(0);
        let pass = |r: &RunReport| judge(&c, r).passed;
        assert!(
            pass(&run(100.0, 100, 1, 50.0, 0.95, 0)),
            "limits are inclusive"
        );
        assert!(
            !pass(&run(100.0, 100, 0, 50.1, 1.0, 0)),
            "p99 over the objective"
        );
        assert!(!pass(&run(100.0, 100, 2, 1.0, 1.0, 0)), "too many errors");
        assert!(
            !pass(&run(100.0, 100, 0, 1.0, 0.94, 0)),
            "rate not achieved"
        );
        assert!(
            !pass(&run(100.0, 100, 0, 1.0, 1.0, 1)),
            "requests left unsent"
        );
        assert!(!pass(&run(100.0, 0, 0, 0.0, 1.0, 0)), "no response");
        let lenient = RampConfig {
            min_achieved_share: 0.0,
            ..config(0)
        };
        assert!(judge(&lenient, &run(100.0, 100, 0, 1.0, 0.1, 0)).passed);
    }
}
