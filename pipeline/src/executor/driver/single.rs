//! The driver one step at a time, for executions whose steps run as separate processes
//! (`sentio pipeline run-step`, called by a workflow engine): the state of the other steps
//! comes from the metadata store, where those processes recorded it.
use super::super::run::{State, StepRun};
use super::super::{ExecutionSummary, StepSummary};
use super::{run_step, Driver, Finished};
use crate::error::{PipelineError, Result};
use crate::store::{now, StepRecord, StepStatus};
use std::collections::BTreeMap;
use std::time::Instant;

const INTERRUPTED: &str = "interrupted: the process running this step stopped";

impl Driver<'_> {
    /// Takes over the newest recorded run of each step. The run of `current` (the step
    /// about to run) is taken over only when it is done; a failed attempt is retried, and
    /// one still Executing is from a process that died (the engine runs a step once at a
    /// time), so it is recorded as Failed first.
    fn take_over(&mut self, rows: Vec<StepRecord>, current: Option<usize>) -> Result<()> {
        let mut newest: BTreeMap<usize, StepRecord> = BTreeMap::new();
        for r in rows {
            if let Some(i) = self.plan.index(&r.step) {
                if newest.get(&i).is_none_or(|n| n.id < r.id) {
                    newest.insert(i, r);
                }
            }
        }
        for (i, mut r) in newest {
            let mine = current == Some(i);
            match r.status {
                StepStatus::Executing if mine || current.is_none() => {
                    r.status = StepStatus::Failed;
                    r.ended_at = Some(now());
                    r.failure_reason = Some(INTERRUPTED.into());
                    self.store.finish_step(&r)?;
                    if !mine {
                        self.runs[i] = StepRun::recorded(&r);
                    }
                }
                StepStatus::Executing => {
                    self.runs[i] = StepRun::recorded(&r);
                    self.runs[i].state = State::Running;
                }
                StepStatus::Failed if mine => {}
                _ => self.runs[i] = StepRun::recorded(&r),
            }
        }
        for i in 0..self.plan.steps.len() {
            if self.runs[i].succeeded() {
                self.note_condition(i);
            }
        }
        Ok(())
    }

    /// Runs step `i` of the execution, unless it is already done: answers it from the
    /// cache or runs it, records it, and for a condition records the branch not taken as
    /// Skipped. A step whose upstream was skipped or failed is recorded as Skipped; one
    /// whose upstream has not finished is an error.
    pub fn run_one(
        mut self,
        rows: Vec<StepRecord>,
        i: usize,
    ) -> Result<(StepSummary, serde_json::Value)> {
        self.take_over(rows, Some(i))?;
        let plan = self.plan;
        let s = &plan.steps[i];
        if self.runs[i].state == State::Pending {
            if let Some(&d) = s.deps.iter().find(|&&d| self.runs[d].blocks()) {
                let why = format!(
                    "not run: upstream step {} did not succeed",
                    plan.steps[d].name
                );
                self.skip(i, why)?;
            } else if let Some(&d) = s.deps.iter().find(|&&d| !self.runs[d].succeeded()) {
                return Err(PipelineError::StepFailed {
                    step: s.name.clone(),
                    message: format!("upstream step {} has not finished yet", plan.steps[d].name),
                });
            } else if let Some(ctx) = self.start(i)? {
                let t0 = Instant::now();
                let result = run_step(s, &ctx, self.artifacts);
                let _ = std::fs::remove_dir_all(&ctx.staging);
                self.finish(Finished {
                    index: i,
                    result,
                    log: ctx.log.excerpt(),
                    seconds: t0.elapsed().as_secs_f64(),
                })?;
            }
        }
        let r = &self.runs[i];
        Ok((r.summary(s), r.properties.clone()))
    }

    /// Ends the execution from what was recorded: steps that never ran are Skipped, a step
    /// left Executing was interrupted, and the execution is Failed when a step's last
    /// attempt failed; writes the manifest like [`Driver::run`].
    pub fn finish_recorded(
        mut self,
        rows: Vec<StepRecord>,
        started_at: &str,
    ) -> Result<ExecutionSummary> {
        self.take_over(rows, None)?;
        let plan = self.plan;
        for &i in &plan.order {
            let run = &self.runs[i];
            if run.state == State::Done(StepStatus::Failed) && self.failure.is_none() {
                let name = &plan.steps[i].name;
                let reason = run.failure_reason.clone().unwrap_or_default();
                self.failure = Some(if reason.starts_with(&format!("step {name:?} failed")) {
                    reason
                } else {
                    format!("step {name:?} failed: {reason}")
                });
            }
        }
        self.busy_seconds = busy_seconds(&self.runs);
        self.propagate_skips();
        self.skip_the_rest()?;
        let wall_s = seconds_since(started_at);
        self.finalize(wall_s)
    }
}

fn parse_time(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.to_utc())
}

fn seconds_since(t: &str) -> f64 {
    parse_time(t).map_or(0.0, |t| (chrono::Utc::now() - t).as_seconds_f64().max(0.0))
}

/// Time during which at least one step ran (the union of the steps' intervals).
fn busy_seconds(runs: &[StepRun]) -> f64 {
    let mut spans: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| {
            let start = parse_time(&r.started_at)?;
            let end = parse_time(r.ended_at.as_deref()?)?;
            let s = start.timestamp_millis() as f64 / 1000.0;
            Some((s, s + (end - start).as_seconds_f64().max(0.0)))
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut total, mut cur): (f64, Option<(f64, f64)>) = (0.0, None);
    for (s, e) in spans {
        cur = match cur {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    total + cur.map_or(0.0, |(s, e)| e - s)
}
