//! The tuning job file: every trial with its parameters, per-fold metrics, mean ± spread,
//! metric history and status, written by `sentio tune` and read back for `describe` and
//! warm starts.
use super::objective::Objective;
use super::params::{self, Params};
use super::space::SearchSpace;
use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const JOB_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Random search.
    Random,
    /// TPE (Bayesian) after a few random trials.
    Tpe,
    /// Random search with successive-halving early stopping (ASHA).
    Asha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    Completed,
    /// Stopped early by the scheduler or the time budget (see `stopped_by`).
    Stopped,
    Failed,
}

/// Mean and spread (sample standard deviation; 0 for one value) over folds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl Score {
    pub fn of(values: &[f64]) -> Option<Score> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Score {
            mean,
            std: var.sqrt(),
            n,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Position in this job's trial list.
    pub id: usize,
    pub params: Params,
    pub status: TrialStatus,
    /// Why a stopped trial stopped: `asha rung N` or `time budget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// Metrics on each held-out fold.
    #[serde(default)]
    pub folds: Vec<BTreeMap<String, f64>>,
    /// Mean ± spread of each metric over the folds.
    #[serde(default)]
    pub metrics: BTreeMap<String, Score>,
    /// The objective over the folds (absent unless completed).
    #[serde(default)]
    pub score: Option<Score>,
    /// The objective metric on the validation split after each epoch (first fold).
    #[serde(default)]
    pub history: Vec<f64>,
    pub seconds: f64,
    /// Set for a trial taken from an earlier job (`FILE#id`); it was not run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_from: Option<String>,
    /// The settings the search started from ([`super::search::SearchConfig::start`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneJobFile {
    pub format: u32,
    pub strategy: Strategy,
    pub objective: Objective,
    pub space: SearchSpace,
    pub seed: u64,
    pub folds: usize,
    pub parallel: usize,
    pub threads_per_trial: usize,
    /// Epochs at which ASHA compared trials (empty for other strategies).
    #[serde(default)]
    pub rungs: Vec<usize>,
    /// Trials stopped at each rung (by epoch).
    #[serde(default)]
    pub stopped_at_rung: BTreeMap<usize, usize>,
    pub trials: Vec<TrialRecord>,
    /// Id of the best completed trial.
    pub best: Option<usize>,
    pub seconds: f64,
    /// Set when the time budget ended the search before its trial budget.
    #[serde(default)]
    pub budget_exhausted: bool,
    /// Digest of the data the trials were scored on (a warm start from other data is
    /// warned about: its scores are not comparable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// Where the best trial's model was written, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_model: Option<std::path::PathBuf>,
}

impl TuneJobFile {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let job: TuneJobFile = serde_json::from_str(&text).map_err(|e| {
            TrainError::Tune(format!("{} is not a tuning job file: {e}", path.display()))
        })?;
        if job.format != JOB_FORMAT {
            return Err(TrainError::Tune(format!(
                "{}: job format {} (this build reads {JOB_FORMAT})",
                path.display(),
                job.format
            )));
        }
        Ok(job)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| TrainError::Tune(format!("cannot encode the job: {e}")))?;
        std::fs::write(path, bytes).map_err(|e| TrainError::io(path, e))
    }

    pub fn best_trial(&self) -> Option<&TrialRecord> {
        self.best
            .and_then(|b| self.trials.iter().find(|t| t.id == b))
    }

    /// Completed trials best first, then stopped and failed ones in trial order.
    pub fn leaderboard(&self) -> Vec<&TrialRecord> {
        let mut done: Vec<&TrialRecord> =
            self.trials.iter().filter(|t| t.score.is_some()).collect();
        done.sort_by(|a, b| {
            let (x, y) = (
                a.score.map(|s| s.mean).unwrap_or(0.0),
                b.score.map(|s| s.mean).unwrap_or(0.0),
            );
            self.objective
                .loss(x)
                .total_cmp(&self.objective.loss(y))
                .then(a.id.cmp(&b.id))
        });
        done.extend(self.trials.iter().filter(|t| t.score.is_none()));
        done
    }

    /// The leaderboard as a table.
    pub fn table(&self) -> String {
        let metric = self.objective.metric.name();
        let mut s = format!(
            "{} trials, strategy {:?}, objective {metric} ({:?}), {} fold(s), {:.1} s\n",
            self.trials.len(),
            self.strategy,
            self.objective.goal,
            self.folds,
            self.seconds
        );
        if !self.stopped_at_rung.is_empty() {
            let rungs: Vec<String> = self
                .stopped_at_rung
                .iter()
                .map(|(r, n)| format!("{n} at epoch {r}"))
                .collect();
            s += &format!("stopped early: {}\n", rungs.join(", "));
        }
        s += &format!(
            "{:>4} {:<10} {:>17} {:>7}  params\n",
            "rank", "status", metric, "epochs"
        );
        for (rank, t) in self.leaderboard().into_iter().enumerate() {
            let score = match t.score {
                Some(sc) => format!("{:.4} ± {:.4}", sc.mean, sc.std),
                None => "-".into(),
            };
            let status = match (t.status, &t.warm_from) {
                (TrialStatus::Completed, Some(_)) => "warm".to_string(),
                (TrialStatus::Completed, None) if t.reference => "start".to_string(),
                (st, _) => format!("{st:?}").to_lowercase(),
            };
            let best = if Some(t.id) == self.best { "*" } else { " " };
            s += &format!(
                "{:>3}{best} {:<10} {:>17} {:>7}  {}\n",
                rank + 1,
                status,
                score,
                t.history.len(),
                params::describe(&t.params)
            );
        }
        s
    }
}
