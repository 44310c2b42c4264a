//! The search on a synthetic objective with a known optimum (learning_rate = 0.01,
//! dropout = 0.3, value 1), whose per-epoch curve rises towards the trial's value.
use super::*;
use crate::tune::objective::{Goal, Metric};
use crate::tune::params::ParamValue;
use std::sync::atomic::{AtomicUsize, Ordering};

const SPACE: &str = r#"
[params.learning_rate]
kind = "log_uniform"
low = 0.0001
high = 0.1
[params.dropout]
kind = "uniform"
low = 0.0
high = 0.5
"#;

fn quality(p: &Params) -> f64 {
    let lr = p["learning_rate"].as_f64().unwrap();
    let d = p["dropout"].as_f64().unwrap();
    1.0 - ((lr.log10() + 2.0).powi(2) / 4.0 + ((d - 0.3) / 0.5).powi(2))
}

struct Synthetic {
    epochs: usize,
    calls: AtomicUsize,
    epochs_run: AtomicUsize,
}

impl Synthetic {
    fn new(epochs: usize) -> Self {
        Synthetic {
            epochs,
            calls: AtomicUsize::new(0),
            epochs_run: AtomicUsize::new(0),
        }
    }
}

impl Evaluator for Synthetic {
    fn evaluate(
        &self,
        trial: &TrialSpec,
        report: &mut dyn FnMut(usize, f64) -> Control,
    ) -> Result<TrialOutcome> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let q = quality(&trial.params);
        if trial.params["dropout"].as_f64().unwrap() > 0.49 {
            return Err(TrainError::Config("synthetic failure".into()));
        }
        for e in 1..=self.epochs {
            self.epochs_run.fetch_add(1, Ordering::SeqCst);
            if report(e, q * (1.0 - 0.5f64.powi(e as i32))) == Control::Stop {
                return Ok(TrialOutcome::Stopped);
            }
        }
        let folds = [-0.001, 0.0, 0.001]
            .iter()
            .map(|n| BTreeMap::from([("accuracy".to_string(), q + n)]))
            .collect();
        Ok(TrialOutcome::Completed { folds })
    }
}

fn config(strategy: Strategy, trials: usize, seed: u64) -> SearchConfig {
    SearchConfig {
        strategy,
        objective: Objective {
            metric: Metric::Accuracy,
            goal: Goal::Maximize,
        },
        trials,
        time_budget: None,
        seed,
        parallel: 1,
        cores: 2,
        folds: 3,
        max_epochs: 9,
        start: None,
    }
}

fn space() -> SearchSpace {
    SearchSpace::parse(SPACE).unwrap()
}

fn run(cfg: &SearchConfig, warm: &[TrialRecord]) -> TuneJobFile {
    search(cfg, &space(), &Synthetic::new(2), warm).unwrap()
}

/// Trials until one scores at least `target` (the budget + 1 when none does).
fn trials_to(job: &TuneJobFile, target: f64) -> usize {
    job.trials
        .iter()
        .position(|t| t.score.is_some_and(|s| s.mean >= target))
        .map_or(job.trials.len() + 1, |i| i + 1)
}

#[test]
fn random_finds_the_optimum_within_budget() {
    let job = run(&config(Strategy::Random, 100, 1), &[]);
    assert_eq!(job.trials.len(), 100);
    let best = job.best_trial().unwrap();
    let s = best.score.unwrap();
    assert!(s.mean >= 0.97, "best {s:?}");
    assert_eq!(s.n, 3);
    assert!((s.std - 0.001).abs() < 1e-9, "spread over the folds: {s:?}");
    assert_eq!(job.leaderboard()[0].id, best.id);
    let lr = best.params["learning_rate"].as_f64().unwrap();
    assert!((lr.log10() + 2.0).abs() < 0.4, "{lr}");
}

#[test]
fn tpe_needs_fewer_trials_than_random_on_average() {
    let (mut random, mut tpe) = (0, 0);
    let seeds = 8;
    for seed in 0..seeds {
        random += trials_to(&run(&config(Strategy::Random, 150, seed), &[]), 0.99);
        tpe += trials_to(&run(&config(Strategy::Tpe, 150, seed), &[]), 0.99);
    }
    assert!(
        tpe < random,
        "TPE {} vs random {} trials on average",
        tpe as f64 / seeds as f64,
        random as f64 / seeds as f64
    );
}

#[test]
fn asha_stops_bad_trials_at_the_rungs() {
    let ev = Synthetic::new(9);
    let job = search(&config(Strategy::Asha, 30, 5), &space(), &ev, &[]).unwrap();
    assert_eq!(job.rungs, vec![1, 3]);
    let stopped: Vec<&TrialRecord> = job
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Stopped)
        .collect();
    let at_rung_1 = job.stopped_at_rung.get(&1).copied().unwrap_or(0);
    let at_rung_3 = job.stopped_at_rung.get(&3).copied().unwrap_or(0);
    assert!(at_rung_1 >= 10, "{:?}", job.stopped_at_rung);
    assert_eq!(at_rung_1 + at_rung_3, stopped.len());
    for t in &stopped {
        assert!(
            t.score.is_none() && [1, 3].contains(&t.history.len()),
            "{t:?}"
        );
        assert_eq!(t.stopped_by, Some(format!("asha rung {}", t.history.len())));
    }
    let epochs = ev.epochs_run.load(Ordering::SeqCst);
    let completed = job
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Completed)
        .count();
    assert_eq!(epochs, completed * 9 + at_rung_1 + 3 * at_rung_3);
    assert!(epochs < 30 * 9 / 2, "{epochs} epochs");
    // The best trial ran to the end, and every stopped one was worse at its rung than it.
    let best = job.best_trial().unwrap();
    assert_eq!(best.history.len(), 9);
    for t in &stopped {
        let r = t.history.len();
        assert!(t.history[r - 1] < best.history[r - 1]);
    }
    // Random without the scheduler runs every epoch.
    let plain = Synthetic::new(9);
    search(&config(Strategy::Random, 30, 5), &space(), &plain, &[]).unwrap();
    assert_eq!(plain.epochs_run.load(Ordering::SeqCst), 30 * 9);
}

#[test]
fn warm_start_reuses_earlier_trials_without_running_them() {
    let first = run(&config(Strategy::Random, 10, 3), &[]);
    let ev = Synthetic::new(2);
    let second = search(&config(Strategy::Tpe, 5, 4), &space(), &ev, &first.trials).unwrap();
    assert_eq!(ev.calls.load(Ordering::SeqCst), 5, "only new trials run");
    assert_eq!(second.trials.len(), 15);
    for (old, new) in first.trials.iter().zip(&second.trials) {
        assert_eq!(new.params, old.params);
        assert_eq!(new.score, old.score);
        assert_eq!(new.warm_from, Some(format!("earlier#{}", old.id)));
    }
    assert!(second.trials[10..].iter().all(|t| t.warm_from.is_none()));
    // The same seed again draws the earlier trials' parameters first: they are drawn anew.
    let ev = Synthetic::new(2);
    let again = search(
        &config(Strategy::Random, 5, 3),
        &space(),
        &ev,
        &first.trials,
    )
    .unwrap();
    assert_eq!(ev.calls.load(Ordering::SeqCst), 5);
    for t in &again.trials[10..] {
        assert!(first.trials.iter().all(|f| f.params != t.params), "{t:?}");
    }
    let best = |j: &TuneJobFile| j.best_trial().unwrap().score.unwrap().mean;
    assert!(best(&second) >= best(&first));
    // With 10 warm trials TPE models at once: its first new trial differs from a random one.
    let cold = search(
        &config(Strategy::Tpe, 1, 4),
        &space(),
        &Synthetic::new(2),
        &[],
    )
    .unwrap();
    assert_ne!(cold.trials[0].params, second.trials[10].params);
    // Trials outside the space are left out.
    let mut other = first.trials.clone();
    other[0]
        .params
        .insert("dropout".into(), ParamValue::Float(0.9));
    let third = run(&config(Strategy::Random, 1, 1), &other);
    assert_eq!(third.trials.len(), 10);
}

#[test]
fn the_same_seed_gives_the_same_trials() {
    for strategy in [Strategy::Random, Strategy::Tpe, Strategy::Asha] {
        let a = run(&config(strategy, 12, 9), &[]);
        let b = run(&config(strategy, 12, 9), &[]);
        let c = run(&config(strategy, 12, 10), &[]);
        let params = |j: &TuneJobFile| {
            j.trials
                .iter()
                .map(|t| t.params.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(params(&a), params(&b), "{strategy:?}");
        assert_eq!(a.best, b.best);
        assert_ne!(params(&a), params(&c), "{strategy:?}");
    }
    // Parallel trials draw the same parameters in the same order.
    let mut par = config(Strategy::Random, 12, 9);
    par.parallel = 3;
    let p = run(&par, &[]);
    assert_eq!(p.threads_per_trial, 1);
    let s = run(&config(Strategy::Random, 12, 9), &[]);
    assert_eq!(
        p.trials,
        s.trials
            .iter()
            .map(|t| TrialRecord {
                seconds: p.trials[t.id].seconds,
                ..t.clone()
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn budgets_and_failures_are_recorded() {
    let mut cfg = config(Strategy::Random, 5, 1);
    cfg.time_budget = Some(std::time::Duration::ZERO);
    let job = run(&cfg, &[]);
    assert!(job.trials.is_empty() && job.budget_exhausted && job.best.is_none());
    // Dropout above 0.49 fails in the synthetic evaluator: recorded, the search goes on.
    let job = run(&config(Strategy::Random, 200, 2), &[]);
    let failed: Vec<&TrialRecord> = job
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Failed)
        .collect();
    assert!(!failed.is_empty());
    assert!(failed
        .iter()
        .all(|t| t.error.as_deref().unwrap().contains("synthetic failure")));
    assert_eq!(job.trials.len(), 200);
    assert!(search(
        &config(Strategy::Random, 0, 1),
        &space(),
        &Synthetic::new(1),
        &[]
    )
    .is_err());
}

#[test]
fn the_job_file_round_trips_and_prints_a_leaderboard() {
    let job = search(
        &config(Strategy::Asha, 12, 5),
        &space(),
        &Synthetic::new(9),
        &[],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    job.write(&path).unwrap();
    let back = TuneJobFile::read(&path).unwrap();
    assert_eq!(back, job);
    let table = job.table();
    let best = job.best_trial().unwrap();
    let first_row = table.lines().nth(3).unwrap();
    assert!(
        first_row.contains("1*") && first_row.contains(&format!("{:.4}", best.score.unwrap().mean)),
        "{table}"
    );
    assert!(table.contains("stopped early:"), "{table}");
    std::fs::write(&path, "{}").unwrap();
    let e = TuneJobFile::read(&path).unwrap_err().to_string();
    assert!(e.contains("is not a tuning job file"), "{e}");
}

#[test]
fn a_small_discrete_space_is_not_tried_twice() {
    let space = SearchSpace::parse(
        "[params.learning_rate]\nkind = \"categorical\"\nvalues = [0.01, 0.001]\n\
         [params.dropout]\nkind = \"categorical\"\nvalues = [0.3]\n",
    )
    .unwrap();
    let ev = Synthetic::new(1);
    let job = search(&config(Strategy::Tpe, 6, 1), &space, &ev, &[]).unwrap();
    assert_eq!(ev.calls.load(Ordering::SeqCst), 2);
    assert_eq!(job.trials.len(), 2);
    assert_ne!(job.trials[0].params, job.trials[1].params);
}

/// The starting settings run first, to the end even when ASHA would stop them (a poor
/// start here), are marked in the job and the leaderboard, and are not run again on a
/// warm start; settings outside the space are not run.
#[test]
fn the_starting_settings_run_first_and_are_not_stopped_early() {
    let start = Params::from([
        ("learning_rate".to_string(), ParamValue::Float(0.0002)),
        ("dropout".to_string(), ParamValue::Float(0.05)),
    ]);
    let mut cfg = config(Strategy::Asha, 12, 4);
    cfg.start = Some(start.clone());
    let ev = Synthetic::new(9);
    let job = search(&cfg, &space(), &ev, &[]).unwrap();
    let first = &job.trials[0];
    assert_eq!(first.params, start);
    assert!(first.reference && first.status == TrialStatus::Completed);
    assert_eq!(first.history.len(), 9, "the start ran every epoch");
    assert!(job.trials[1..].iter().all(|t| !t.reference));
    assert!(
        job.trials.iter().any(|t| t.status == TrialStatus::Stopped),
        "ASHA still stops other trials"
    );
    assert!(job.table().contains(" start "), "{}", job.table());

    let again = search(&cfg, &space(), &Synthetic::new(9), &job.trials).unwrap();
    let fresh: Vec<&TrialRecord> = again
        .trials
        .iter()
        .filter(|t| t.warm_from.is_none())
        .collect();
    assert!(fresh.iter().all(|t| t.params != start && !t.reference));

    let mut outside = config(Strategy::Random, 3, 4);
    outside.start = Some(Params::from([
        ("learning_rate".to_string(), ParamValue::Float(0.5)),
        ("dropout".to_string(), ParamValue::Float(0.05)),
    ]));
    let job = search(&outside, &space(), &Synthetic::new(2), &[]).unwrap();
    assert!(job.trials.iter().all(|t| !t.reference));
    assert_eq!(job.trials.len(), 3);
}
