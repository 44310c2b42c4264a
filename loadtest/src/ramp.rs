//! The step/ramp search for the highest rate that holds a p99 objective.
//!
//! Open-loop steps at `start`, `start + step`, … run until one fails or the
//! maximum rate passes; then the gap between the last pass and the first
//! failure is bisected `refine_steps` times.

use std::sync::Arc;
use std::time::Instant;

use tracing::info;

use crate::config::{Bounds, RampConfig};
use crate::engine::{execute, Arrival, Plan, Shared};
use crate::error::Error;
use crate::report::{RampReport, RampStep, RunReport};
use crate::series::SeriesSink;

/// Smallest share of the intended rate a passing step must achieve.
const MIN_ACHIEVED_SHARE: f64 = 0.95;

/// The search's result.
pub(crate) struct RampOutcome {
    pub report: RampReport,
    /// The run of the highest passing step.
    pub best: Option<RunReport>,
    pub series: Arc<SeriesSink>,
}

pub(crate) async fn search(
    shared: Arc<Shared>,
    config: &RampConfig,
    connections: usize,
) -> Result<RampOutcome, Error> {
    let series = SeriesSink::new(Instant::now());
    let mut steps = Vec::new();
    let mut best: Option<RunReport> = None;
    let mut failed_at: Option<f64> = None;

    let step = |rate: f64| {
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
            let run = RunReport::from_outcome(&outcome, Some(rate));
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
    while !shared.stop.is_triggered() {
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
            if mid <= 0.0 || high - low < 1.0 || shared.stop.is_triggered() {
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
    Ok(RampOutcome {
        report: RampReport {
            p99_objective_ms: config.p99_objective.as_secs_f64() * 1000.0,
            max_error_rate: config.max_error_rate,
            step_duration_s: config.step_duration.as_secs_f64(),
            max_rate: best.as_ref().and_then(|b| b.intended_rate),
            steps,
        },
        best,
        series,
    })
}

/// Whether a step held the objective.
fn judge(config: &RampConfig, run: &RunReport) -> RampStep {
    let intended = run.intended_rate.unwrap_or(0.0);
    let objective_ms = config.p99_objective.as_secs_f64() * 1000.0;
    let error_rate = run.error_rate();
    let passed = run.requests.completed > 0
        && run.latency_ms.p99_ms <= objective_ms
        && error_rate <= config.max_error_rate
        && run.achieved_rate >= MIN_ACHIEVED_SHARE * intended
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
