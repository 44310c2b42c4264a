//! Trials that train real models: each trial trains on every fold (a validation split
//! carved out of the fold's training rows for early stopping and calibration) and is
//! scored on the fold's held-out rows. The first fold's per-epoch validation metric goes
//! to the scheduler, which may stop the trial there.
use super::cv::Fold;
use super::objective::{Metric, Objective};
use super::params;
use super::record::Score;
use super::search::{Control, Evaluator, TrialOutcome, TrialSpec};
use crate::data::Dataset;
use crate::error::{Result, TrainError};
use crate::metrics::Evaluation;
use crate::split::{split, SplitConfig};
use crate::trainer::{predict_with_loss, train_with, EpochRecord, TrainConfig};
use std::collections::BTreeMap;
use std::time::Instant;

/// Validation share carved out of each fold's training rows.
pub const INNER_VALIDATION: f64 = 0.1;

pub struct TrainingEvaluator<'a> {
    pub dataset: &'a Dataset,
    pub folds: &'a [Fold],
    /// Settings the trial's hyperparameters are applied to.
    pub base: TrainConfig,
    pub objective: Objective,
}

fn epoch_metric(m: Metric, r: &EpochRecord) -> f64 {
    match m {
        Metric::BalancedAccuracy => r.validation_balanced_accuracy,
        Metric::MacroF1 => r.validation_macro_f1,
        Metric::Accuracy => r.validation_accuracy,
        Metric::Loss => r.validation_loss,
    }
}

/// Trains `cfg` on one fold and scores it on the held-out rows; `on_epoch` as in
/// [`train_with`]. `None` when `on_epoch` stopped training.
pub fn run_fold(
    cfg: &TrainConfig,
    ds: &Dataset,
    fold: &Fold,
    on_epoch: &mut dyn FnMut(&EpochRecord) -> bool,
) -> Result<Option<BTreeMap<String, f64>>> {
    let inner = split(
        &ds.subset(&fold.train),
        &SplitConfig {
            validation: INNER_VALIDATION,
            test: 0.0,
            seed: cfg.seed,
        },
    )?;
    let mut stopped = false;
    let outcome = train_with(cfg, &inner.train, &inner.validation, &mut |r| {
        let go_on = on_epoch(r);
        stopped |= !go_on;
        go_on
    })?;
    if stopped {
        return Ok(None);
    }
    let held = ds.subset(&fold.held_out);
    let texts: Vec<&str> = held.texts.iter().map(String::as_str).collect();
    let enc = outcome.model.encode(&texts)?;
    let (pred, loss) = predict_with_loss(&outcome.model, &enc, &held.labels)?;
    let e = Evaluation::compute(&held.labels, &pred, &held.label_names);
    Ok(Some(BTreeMap::from([
        (
            Metric::BalancedAccuracy.name().to_string(),
            e.balanced_accuracy,
        ),
        (Metric::MacroF1.name().to_string(), e.macro_f1),
        (Metric::Accuracy.name().to_string(), e.accuracy),
        (Metric::Loss.name().to_string(), loss),
        ("best_epoch".to_string(), outcome.best_epoch as f64),
        ("train_seconds".to_string(), outcome.train_seconds),
    ])))
}

impl Evaluator for TrainingEvaluator<'_> {
    fn evaluate(
        &self,
        trial: &TrialSpec,
        report: &mut dyn FnMut(usize, f64) -> Control,
    ) -> Result<TrialOutcome> {
        tch::set_num_threads(trial.threads as i32);
        let mut cfg = params::apply(&self.base, &trial.params).map_err(TrainError::Tune)?;
        cfg.progress = false;
        cfg.check()?;
        let metric = self.objective.metric;
        let mut folds = Vec::with_capacity(self.folds.len());
        for (i, fold) in self.folds.iter().enumerate() {
            // The first fold's epochs go to the scheduler; later folds only heed the
            // time budget.
            let mut on_epoch = |r: &EpochRecord| {
                if i == 0 {
                    report(r.epoch, epoch_metric(metric, r)) == Control::Continue
                } else {
                    trial.deadline.is_none_or(|d| Instant::now() < d)
                }
            };
            match run_fold(&cfg, self.dataset, fold, &mut on_epoch)? {
                Some(m) => folds.push(m),
                None => return Ok(TrialOutcome::Stopped),
            }
        }
        Ok(TrialOutcome::Completed { folds })
    }
}

/// Cross-validation of one training configuration: each metric on each fold, and mean ±
/// spread over the folds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrossValidation {
    pub folds: Vec<BTreeMap<String, f64>>,
    pub metrics: BTreeMap<String, Score>,
}

pub fn cross_validate(cfg: &TrainConfig, ds: &Dataset, folds: &[Fold]) -> Result<CrossValidation> {
    let mut per_fold = Vec::with_capacity(folds.len());
    for (i, fold) in folds.iter().enumerate() {
        tracing::info!(fold = i + 1, of = folds.len(), "cross-validation fold");
        if let Some(m) = run_fold(cfg, ds, fold, &mut |_| true)? {
            per_fold.push(m);
        }
    }
    let mut metrics = BTreeMap::new();
    if let Some(first) = per_fold.first() {
        for name in first.keys() {
            let v: Vec<f64> = per_fold
                .iter()
                .filter_map(|f| f.get(name).copied())
                .collect();
            if let Some(s) = Score::of(&v) {
                metrics.insert(name.clone(), s);
            }
        }
    }
    Ok(CrossValidation {
        folds: per_fold,
        metrics,
    })
}
