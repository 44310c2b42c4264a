//! `sentio tune`: hyperparameter search over a TOML search space, with k-fold or
//! repeated-split validation, writing a job file and the best trial's model; `sentio tune
//! describe JOB` prints the leaderboard.
use super::data_args::DataArgs;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;
use train::job::TrainJob;
use train::tune::{
    self, Objective, SearchConfig, SearchSpace, Strategy, TrainingEvaluator, TuneJobFile,
    Validation,
};
use train::{SplitConfig, ValidationConfig};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: Option<TuneCommand>,
    // The data arguments sit here, not inside `TuneRunArgs`: clap does not see an
    // optional flattened group whose own group flattens another.
    #[command(flatten)]
    pub data: Option<DataArgs>,
    #[command(flatten)]
    pub run: Option<TuneRunArgs>,
}

#[derive(Subcommand)]
pub enum TuneCommand {
    /// Print a tuning job's leaderboard.
    Describe {
        /// The job file (or the --out directory holding job.json).
        job: PathBuf,
        /// Print the job file as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Copy, Clone, ValueEnum)]
pub enum StrategyArg {
    /// Random search.
    Random,
    /// Bayesian search (TPE) after 5 random trials.
    Tpe,
    /// Random search with successive-halving early stopping (ASHA) on each trial's
    /// per-epoch validation metric.
    Asha,
}

#[derive(Args)]
pub struct TuneRunArgs {
    /// Search space (TOML: architecture, [params.NAME] distributions, optional [objective]
    /// and [asha]).
    #[arg(long)]
    pub space: PathBuf,
    #[arg(long, value_enum, default_value = "tpe")]
    pub strategy: StrategyArg,
    /// New trials to run (warm-start trials do not count).
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Wall time for the search (e.g. 10m): no trial starts after it, running ones stop at
    /// their next epoch.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub time_budget: Option<Duration>,
    /// Stratified folds each trial is trained and scored on.
    #[arg(long, default_value_t = 3)]
    pub folds: usize,
    /// Instead of k-fold: this many stratified random splits, each holding out --holdout.
    #[arg(long, conflicts_with = "folds")]
    pub repeats: Option<usize>,
    /// Held-out share of each repeated split.
    #[arg(long, default_value_t = 0.2, requires = "repeats")]
    pub holdout: f64,
    /// Seed of the sampler, the folds and training: the same seed gives the same trials.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Metric to optimise on the held-out folds: balanced_accuracy, macro_f1, accuracy or
    /// loss (default: the space file's, else balanced_accuracy).
    #[arg(long)]
    pub objective: Option<String>,
    /// maximize or minimize (default: what suits the metric).
    #[arg(long, requires = "objective")]
    pub goal: Option<String>,
    /// Earlier job file(s) whose trials the search learns from without running them again.
    #[arg(long = "warm-start")]
    pub warm_start: Vec<PathBuf>,
    /// Trials run at once in threads, sharing the cores (torch threads per trial = cores /
    /// parallel). With more than 1, scores can differ slightly between runs: torch's
    /// random generator is process-wide.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    #[arg(long, default_value = "cpu")]
    pub device: models::DeviceChoice,
    /// Output directory: job.json and best-model/ (the best trial retrained on a
    /// train/validation/test split).
    #[arg(long, default_value = "tune-out")]
    pub out: PathBuf,
    /// Replace an earlier job in --out.
    #[arg(long)]
    pub force: bool,
    /// Do not train the best trial's model.
    #[arg(long)]
    pub no_model: bool,
    /// Print the job file as JSON instead of the leaderboard.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: TuneArgs) -> anyhow::Result<()> {
    match (a.command, a.data, a.run) {
        (Some(TuneCommand::Describe { job, json }), _, _) => describe(&job, json),
        (None, Some(data), Some(r)) => search(data, r),
        _ => anyhow::bail!(
            "give --data FILE and --space SPACE.toml to search, or `sentio tune describe JOB`"
        ),
    }
}

fn job_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("job.json")
    } else {
        p.to_path_buf()
    }
}

fn describe(job: &Path, json: bool) -> anyhow::Result<()> {
    let job = TuneJobFile::read(&job_path(job))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    } else {
        print!("{}", job.table());
        if let Some(m) = &job.best_model {
            println!("best model: {}", m.display());
        }
    }
    Ok(())
}

fn search(data: DataArgs, a: TuneRunArgs) -> anyhow::Result<()> {
    let space = SearchSpace::from_file(&a.space)?;
    let objective = match &a.objective {
        Some(m) => Objective::parse(m, a.goal.as_deref()).map_err(anyhow::Error::msg)?,
        None => space.objective.unwrap_or_default(),
    };
    let strategy = match a.strategy {
        StrategyArg::Random => Strategy::Random,
        StrategyArg::Tpe => Strategy::Tpe,
        StrategyArg::Asha => Strategy::Asha,
    };
    let validation = match a.repeats {
        Some(repeats) => Validation::Repeated {
            repeats,
            share: a.holdout,
        },
        None => Validation::KFold { k: a.folds },
    };
    let job_file = a.out.join("job.json");
    if !a.force && job_file.exists() {
        anyhow::bail!(
            "{} exists; pass --force to replace it, or choose another --out",
            job_file.display()
        );
    }
    let mut warm = Vec::new();
    let mut warm_digests = Vec::new();
    for w in &a.warm_start {
        let path = job_path(w);
        let earlier = TuneJobFile::read(&path)?;
        warm_digests.push((path.clone(), earlier.data_digest.clone()));
        let before = warm.len();
        for mut t in earlier.trials.into_iter().filter(|t| t.warm_from.is_none()) {
            t.warm_from = Some(format!("{}#{}", path.display(), t.id));
            warm.push(t);
        }
        tracing::info!(trials = warm.len() - before, job = %path.display(), "warm start");
    }
    let data = data.config();
    let prepared = train::job::prepare(&data, &ValidationConfig::default())?;
    for (path, digest) in warm_digests {
        if digest
            .as_deref()
            .is_some_and(|d| d != prepared.table.digest)
        {
            tracing::warn!(job = %path.display(), "the warm-start job scored its trials on other data");
        }
    }
    let folds = tune::folds(&prepared.dataset, validation, a.seed)?;
    let mut base = space.base_config();
    base.seed = a.seed;
    base.device = a.device;
    base.progress = false;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cfg = SearchConfig {
        strategy,
        objective,
        trials: a.trials,
        time_budget: a.time_budget,
        seed: a.seed,
        parallel: a.parallel,
        cores,
        folds: folds.len(),
        max_epochs: base.epochs,
        start: Some(train::tune::params::values_of(&base, space.params.keys())),
    };
    let evaluator = TrainingEvaluator {
        dataset: &prepared.dataset,
        folds: &folds,
        base: base.clone(),
        objective,
    };
    let considered = warm.len();
    let mut job = tune::search(&cfg, &space, &evaluator, &warm)?;
    let reused = job.trials.iter().filter(|t| t.warm_from.is_some()).count();
    if reused < considered {
        tracing::warn!(
            skipped = considered - reused,
            "warm-start trials outside this search space were left out"
        );
    }
    job.data_digest = Some(prepared.table.digest.clone());
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    job.write(&job_file)?;
    if let (Some(best), false) = (job.best_trial().cloned(), a.no_model) {
        let mut train_cfg = tune::params::apply(&base, &best.params).map_err(anyhow::Error::msg)?;
        tch::set_num_threads(cores as i32);
        train_cfg.progress = false;
        let model_dir = a.out.join("best-model");
        if a.force && model_dir.exists() {
            std::fs::remove_dir_all(&model_dir)
                .with_context(|| format!("cannot replace {}", model_dir.display()))?;
        }
        let r = train::job::run(&TrainJob {
            data,
            validation: ValidationConfig::default(),
            split: SplitConfig {
                seed: a.seed,
                ..SplitConfig::default()
            },
            train: train_cfg,
            out: model_dir,
        })?;
        job.best_model = Some(r.artifact.dir.clone());
        job.write(&job_file)?;
        if !a.json {
            println!(
                "best trial {} retrained: test balanced accuracy {:.4}, model {}",
                best.id,
                r.evaluation.balanced_accuracy,
                r.artifact.dir.display()
            );
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    } else {
        print!("{}", job.table());
        println!("job written to {}", job_file.display());
    }
    if job.best.is_none() {
        let why = job
            .trials
            .iter()
            .find_map(|t| t.error.clone())
            .unwrap_or_else(|| "no trial completed within the budget".into());
        anyhow::bail!("no trial completed: {why}");
    }
    Ok(())
}
