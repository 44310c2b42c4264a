//! tune: searches hyperparameters on the training split (k-fold trials, random / TPE /
//! ASHA), records every trial with the step, and writes the best trial's model, trained
//! on the training split and early-stopped on the validation split like the train step's,
//! so evaluate → gate → register take it as they take a trained one. The model's metadata
//! names the tuning job (`tuning`: best trial, its parameters and score, the trials'
//! digest), which the registered version's lineage keeps.
use super::{read_split, write_json, StepContext, StepOutcome};
use crate::error::Result;
use models::DeviceChoice;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};
use std::time::Duration;
use train::tune::{self, Objective, SearchConfig, SearchSpace, Strategy, TrainingEvaluator};
use train::TrainConfig;

/// The tune step's settings as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuneSettings {
    /// The search space, in the shape of a `sentio tune` space file (`architecture`,
    /// `[params.NAME]`, optional `objective` and `asha`).
    pub space: Value,
    pub strategy: Strategy,
    pub trials: usize,
    /// Wall-time budget in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_budget_s: Option<f64>,
    pub folds: usize,
    pub seed: u64,
    /// Objective metric (default: the space's, else balanced_accuracy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    pub parallel: usize,
    pub device: DeviceChoice,
}

impl Default for TuneSettings {
    fn default() -> Self {
        TuneSettings {
            space: Value::Null,
            strategy: Strategy::Tpe,
            trials: 20,
            time_budget_s: None,
            folds: 3,
            seed: 42,
            objective: None,
            goal: None,
            parallel: 1,
            device: DeviceChoice::Auto,
        }
    }
}

/// The tune step's configuration: its settings (the cache key) and what they resolve to,
/// checked when the plan is built.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "TuneSettings")]
pub struct TuneStepConfig {
    pub settings: TuneSettings,
    pub space: SearchSpace,
    pub objective: Objective,
    pub base: TrainConfig,
}

impl TryFrom<TuneSettings> for TuneStepConfig {
    type Error = String;
    fn try_from(settings: TuneSettings) -> std::result::Result<Self, String> {
        if settings.space.is_null() {
            return Err(
                "space is required: a table of the search space ([params.NAME] ...)".into(),
            );
        }
        let space =
            SearchSpace::from_json(settings.space.clone()).map_err(|e| format!("space: {e}"))?;
        let objective = match &settings.objective {
            Some(m) => Objective::parse(m, settings.goal.as_deref())?,
            None => space.objective.unwrap_or_default(),
        };
        if settings.trials == 0 || settings.parallel == 0 || settings.folds < 2 {
            return Err(format!(
                "trials and parallel must be at least 1 and folds at least 2, got {}, {} and {}",
                settings.trials, settings.parallel, settings.folds
            ));
        }
        if settings
            .time_budget_s
            .is_some_and(|s| !(s > 0.0 && s.is_finite()))
        {
            return Err("time_budget_s must be a positive number of seconds".into());
        }
        settings.device.resolve().map_err(|e| e.to_string())?;
        let mut base = space.base_config();
        base.seed = settings.seed;
        base.device = settings.device;
        base.progress = false;
        Ok(TuneStepConfig {
            settings,
            space,
            objective,
            base,
        })
    }
}

impl Serialize for TuneStepConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.settings.serialize(s)
    }
}

pub(super) fn run(ctx: &StepContext, config: &TuneStepConfig) -> Result<StepOutcome> {
    let s = &config.settings;
    let tr = read_split(ctx.input("train")?)?;
    let va = read_split(ctx.input("validation")?)?;
    let folds = tune::folds(&tr, tune::Validation::KFold { k: s.folds }, s.seed)?;
    ctx.log(format!(
        "tuning {} hyperparameter(s) with {:?}: {} trial(s), {} folds of {} training rows",
        config.space.params.len(),
        s.strategy,
        s.trials,
        s.folds,
        tr.len()
    ));
    let search = SearchConfig {
        strategy: s.strategy,
        objective: config.objective,
        trials: s.trials,
        time_budget: s.time_budget_s.map(Duration::from_secs_f64),
        seed: s.seed,
        parallel: s.parallel,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        folds: folds.len(),
        max_epochs: config.base.epochs,
        start: Some(tune::params::values_of(
            &config.base,
            config.space.params.keys(),
        )),
    };
    let evaluator = TrainingEvaluator {
        dataset: &tr,
        folds: &folds,
        base: config.base.clone(),
        objective: config.objective,
    };
    let job = tune::search(&search, &config.space, &evaluator, &[])?;
    for line in job.table().lines() {
        ctx.log(line.to_string());
    }
    let trials_dir = ctx.output_dir("trials")?;
    job.write(&trials_dir.join("job.json"))?;
    let Some(best) = job.best_trial().cloned() else {
        let why = job.trials.iter().find_map(|t| t.error.clone());
        return Err(ctx.fail(format!(
            "no trial completed{}",
            why.map(|w| format!(": {w}")).unwrap_or_default()
        )));
    };
    let mut cfg = tune::params::apply(&config.base, &best.params).map_err(|e| ctx.fail(e))?;
    cfg.progress = false;
    let outcome = train::train(&cfg, &tr, &va)?;
    let evaluation = train::evaluate_model(&outcome.model, &va)?;
    let tuning = json!({
        "step": ctx.step,
        "execution": ctx.execution.id,
        "strategy": s.strategy,
        "objective": config.objective,
        "trials": job.trials.len(),
        "best_trial": best.id,
        "best_params": best.params,
        "best_score": best.score,
        "trials_file": "trials/job.json",
    });
    let data = json!({
        "train": {"digest": ctx.input_digests.get("train"), "rows": tr.len()},
        "validation": {"digest": ctx.input_digests.get("validation"), "rows": va.len()},
        "labels": tr.label_names,
        "evaluation_split": "validation",
    });
    let mut meta = train::job::metadata(&cfg, &outcome, data)?;
    meta["tuning"] = tuning.clone();
    let art = train::job::write_artifact(&ctx.output_path("model"), &outcome, &evaluation, meta)?;
    ctx.log(format!(
        "best trial {} retrained: model {} (validation macro-F1 {:.4})",
        best.id,
        art.version(),
        evaluation.macro_f1
    ));
    let trials: Vec<Value> = job
        .leaderboard()
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id, "status": t.status, "params": t.params, "score": t.score,
                "stopped_by": t.stopped_by, "history": t.history, "error": t.error,
            })
        })
        .collect();
    write_json(&trials_dir.join("leaderboard.json"), &json!(trials))?;
    Ok(StepOutcome {
        properties: json!({
            "model_version": art.version(),
            "tuning": tuning,
            "stopped_at_rung": job.stopped_at_rung,
            "leaderboard": trials,
        }),
        ..Default::default()
    })
}
