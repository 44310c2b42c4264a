//! The search loop: draws trials (random or TPE), runs them (one at a time, or `parallel`
//! at a time in threads), stops trials early (ASHA, time budget) and records every trial.
use super::asha::Asha;
use super::objective::Objective;
use super::params::Params;
use super::record::{Score, Strategy, TrialRecord, TrialStatus, TuneJobFile, JOB_FORMAT};
use super::sampler;
use super::space::{Distribution, SearchSpace};
use crate::error::{Result, TrainError};
use rand_10::rngs::StdRng;
use rand_10::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Draws tried for parameters no earlier trial had, before the space counts as exhausted.
const MAX_REDRAWS: usize = 100;

/// What an [`Evaluator`]'s epoch report is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// A trial to run.
#[derive(Debug, Clone)]
pub struct TrialSpec {
    pub id: usize,
    pub params: Params,
    /// Torch threads this trial may use.
    pub threads: usize,
    /// When the time budget ends: an evaluator stops at the first epoch after it, also
    /// in epochs it does not report (later folds).
    pub deadline: Option<Instant>,
    /// The settings the search started from: never stopped early by ASHA.
    pub reference: bool,
}

/// How a trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialOutcome {
    /// Metrics on each held-out fold.
    Completed { folds: Vec<BTreeMap<String, f64>> },
    /// Stopped after a report was answered with [`Control::Stop`].
    Stopped,
}

/// Runs trials: training on each fold, or a synthetic function in tests.
pub trait Evaluator: Sync {
    /// Runs one trial. After each epoch it calls `report(epoch, value)` with the objective
    /// metric on validation data (1-based epochs) and stops when answered [`Control::Stop`].
    fn evaluate(
        &self,
        trial: &TrialSpec,
        report: &mut dyn FnMut(usize, f64) -> Control,
    ) -> Result<TrialOutcome>;
}

#[derive(Debug, Clone)]
pub struct SearchConfig {
    pub strategy: Strategy,
    pub objective: Objective,
    /// New trials to run (warm-start trials do not count).
    pub trials: usize,
    /// No trial starts after this, and running ones stop at their next epoch.
    pub time_budget: Option<Duration>,
    pub seed: u64,
    /// Trials run at once.
    pub parallel: usize,
    /// Cores to share among parallel trials.
    pub cores: usize,
    /// Folds each trial is scored on (recorded in the job).
    pub folds: usize,
    /// Epochs of a full trial when the space does not tune `epochs` (for ASHA's rungs).
    pub max_epochs: usize,
    /// The settings tuning starts from (the base configuration's values of the space's
    /// hyperparameters): run first, to the end (ASHA does not stop it), when they lie in the
    /// space and no earlier trial had them, so every leaderboard shows them on the same
    /// folds as the trials.
    pub start: Option<Params>,
}

/// Runs a search; `warm` are earlier trials (from [`TuneJobFile`]s) to learn from without
/// running them again. Fails only on a bad configuration: failed trials are recorded.
pub fn search(
    cfg: &SearchConfig,
    space: &SearchSpace,
    evaluator: &dyn Evaluator,
    warm: &[TrialRecord],
) -> Result<TuneJobFile> {
    if cfg.trials == 0 {
        return Err(TrainError::Tune(
            "the trial budget must be at least 1".into(),
        ));
    }
    if cfg.parallel == 0 {
        return Err(TrainError::Tune(
            "parallel trials must be at least 1".into(),
        ));
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let max_epochs = match space.params.get("epochs") {
        Some(Distribution::Int { high, .. }) => *high as usize,
        Some(Distribution::Categorical { values }) => {
            values.iter().filter_map(|v| v.as_f64()).fold(1.0, f64::max) as usize
        }
        _ => cfg.max_epochs,
    };
    let mut asha =
        (cfg.strategy == Strategy::Asha).then(|| Asha::new(space.asha, max_epochs, cfg.objective));
    let mut trials: Vec<TrialRecord> = Vec::new();
    for w in warm.iter().filter(|w| space.contains(&w.params)) {
        let mut t = w.clone();
        t.warm_from
            .get_or_insert_with(|| format!("earlier#{}", w.id));
        t.id = trials.len();
        // A trial scored on another objective is history only.
        t.score = fold_score(&cfg.objective, &t.folds);
        if let Some(a) = asha.as_mut() {
            a.seed(&t.history);
        }
        trials.push(t);
    }
    let threads = (cfg.cores / cfg.parallel).max(1);
    let over_budget = |now: Instant| cfg.time_budget.is_some_and(|b| now - started >= b);
    let mut budget_exhausted = false;
    let asha_cell = Mutex::new(asha.take());
    let mut new = 0;
    let mut exhausted = false;
    let mut reference = cfg
        .start
        .clone()
        .filter(|p| space.contains(p) && !trials.iter().any(|t| &t.params == p));
    while new < cfg.trials && !exhausted {
        if over_budget(Instant::now()) {
            budget_exhausted = true;
            break;
        }
        let batch = cfg.parallel.min(cfg.trials - new);
        let mut specs: Vec<TrialSpec> = Vec::with_capacity(batch);
        for _ in 0..batch {
            // A draw equal to an earlier trial's (a warm start with the same seed, a small
            // discrete space) is drawn again: no trial runs twice.
            if let Some(params) = reference.take() {
                specs.push(TrialSpec {
                    id: trials.len() + specs.len(),
                    params,
                    threads,
                    deadline: cfg.time_budget.map(|b| started + b),
                    reference: true,
                });
                continue;
            }
            let mut fresh = None;
            for _ in 0..MAX_REDRAWS {
                let params = match cfg.strategy {
                    Strategy::Random | Strategy::Asha => sampler::random(space, &mut rng),
                    Strategy::Tpe => {
                        let done: Vec<(&Params, f64)> = trials
                            .iter()
                            .filter_map(|t| {
                                t.score.map(|s| (&t.params, cfg.objective.loss(s.mean)))
                            })
                            .collect();
                        sampler::tpe(space, &done, &mut rng)?
                    }
                };
                let seen = trials.iter().any(|t| t.params == params)
                    || specs.iter().any(|s| s.params == params);
                if !seen {
                    fresh = Some(params);
                    break;
                }
            }
            let Some(params) = fresh else {
                tracing::warn!("no untried parameters found: the search space is exhausted");
                exhausted = true;
                break;
            };
            specs.push(TrialSpec {
                id: trials.len() + specs.len(),
                params,
                threads,
                deadline: cfg.time_budget.map(|b| started + b),
                reference: false,
            });
        }
        if specs.is_empty() {
            break;
        }
        let batch = specs.len();
        let run = |spec: &TrialSpec| run_trial(cfg, spec, evaluator, &asha_cell, &over_budget);
        let records: Vec<TrialRecord> = if batch == 1 {
            vec![run(&specs[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = specs.iter().map(|sp| s.spawn(move || run(sp))).collect();
                handles
                    .into_iter()
                    .zip(&specs)
                    .map(|(h, sp)| {
                        h.join()
                            .unwrap_or_else(|_| failed(sp, "the trial panicked".into(), 0.0))
                    })
                    .collect()
            })
        };
        for r in records {
            tracing::info!(
                trial = r.id,
                status = ?r.status,
                score = r.score.map(|s| s.mean),
                "trial done"
            );
            budget_exhausted |= r.stopped_by.as_deref() == Some("time budget");
            trials.push(r);
        }
        new += batch;
    }
    let asha = asha_cell.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut stopped_at_rung = BTreeMap::new();
    for t in trials.iter().filter(|t| t.warm_from.is_none()) {
        if t.stopped_by
            .as_deref()
            .is_some_and(|s| s.starts_with("asha"))
        {
            *stopped_at_rung.entry(t.history.len()).or_insert(0) += 1;
        }
    }
    let best = trials
        .iter()
        .filter_map(|t| t.score.map(|s| (t.id, s.mean)))
        .reduce(|a, b| if cfg.objective.better(b.1, a.1) { b } else { a })
        .map(|(id, _)| id);
    Ok(TuneJobFile {
        format: JOB_FORMAT,
        strategy: cfg.strategy,
        objective: cfg.objective,
        space: space.clone(),
        seed: cfg.seed,
        folds: cfg.folds,
        parallel: cfg.parallel,
        threads_per_trial: threads,
        rungs: asha.map(|a| a.rungs().to_vec()).unwrap_or_default(),
        stopped_at_rung,
        trials,
        best,
        seconds: started.elapsed().as_secs_f64(),
        budget_exhausted,
        data_digest: None,
        best_model: None,
    })
}

fn fold_score(objective: &Objective, folds: &[BTreeMap<String, f64>]) -> Option<Score> {
    let v: Vec<f64> = folds.iter().filter_map(|f| objective.of(f)).collect();
    (v.len() == folds.len()).then(|| Score::of(&v)).flatten()
}

fn failed(spec: &TrialSpec, error: String, seconds: f64) -> TrialRecord {
    TrialRecord {
        id: spec.id,
        params: spec.params.clone(),
        status: TrialStatus::Failed,
        stopped_by: None,
        folds: Vec::new(),
        metrics: BTreeMap::new(),
        score: None,
        history: Vec::new(),
        seconds,
        warm_from: None,
        reference: spec.reference,
        error: Some(error),
    }
}

fn run_trial(
    cfg: &SearchConfig,
    spec: &TrialSpec,
    evaluator: &dyn Evaluator,
    asha: &Mutex<Option<Asha>>,
    over_budget: &dyn Fn(Instant) -> bool,
) -> TrialRecord {
    let t0 = Instant::now();
    let mut history = Vec::new();
    let mut stopped_by = None;
    let mut report = |epoch: usize, value: f64| {
        if epoch == history.len() + 1 {
            history.push(value);
        }
        if over_budget(Instant::now()) {
            stopped_by = Some("time budget".to_string());
            return Control::Stop;
        }
        let mut guard = asha.lock().unwrap_or_else(|e| e.into_inner());
        let promoted = guard.as_mut().is_none_or(|a| a.report(epoch, value));
        if promoted || spec.reference {
            Control::Continue
        } else {
            stopped_by = Some(format!("asha rung {epoch}"));
            Control::Stop
        }
    };
    let outcome = evaluator.evaluate(spec, &mut report);
    let seconds = t0.elapsed().as_secs_f64();
    let mut r = match outcome {
        Err(e) => return failed(spec, e.to_string(), seconds),
        Ok(TrialOutcome::Stopped) => TrialRecord {
            status: TrialStatus::Stopped,
            stopped_by: stopped_by.or(Some(
                if over_budget(Instant::now()) {
                    "time budget"
                } else {
                    "evaluator"
                }
                .into(),
            )),
            ..failed(spec, String::new(), seconds)
        },
        Ok(TrialOutcome::Completed { folds }) => {
            let mut names: Vec<&String> = folds.iter().flat_map(|f| f.keys()).collect();
            names.sort();
            names.dedup();
            let metrics = names
                .into_iter()
                .filter_map(|n| {
                    let v: Vec<f64> = folds.iter().filter_map(|f| f.get(n).copied()).collect();
                    Score::of(&v).map(|s| (n.clone(), s))
                })
                .collect();
            TrialRecord {
                status: TrialStatus::Completed,
                score: fold_score(&cfg.objective, &folds),
                folds,
                metrics,
                ..failed(spec, String::new(), seconds)
            }
        }
    };
    r.error = None;
    r.history = history;
    r
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
