//! `sentio evaluate`: a saved model on labelled data, or (`--cv K`) k-fold
//! cross-validation of training a model with given settings.
use super::data_args::DataArgs;
use super::train::HyperArgs;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use train::tune::{cross_validate, folds, Validation};

#[derive(Args)]
pub struct EvaluateArgs {
    /// The model: an artifact directory, or registry:GROUP[:N] (any registered version).
    #[arg(long, required_unless_present = "cv", conflicts_with = "cv")]
    pub model: Option<String>,
    /// Instead of a saved model: train with the settings below on K-1 folds and score on
    /// the held-out fold, K times (stratified folds; a validation split is carved out of
    /// each training part for early stopping and calibration); prints each metric's mean ±
    /// spread over the folds.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Sentio home, for registry references.
    #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Write evaluation.json here, and evaluation.html (the same with charts) beside it, with
    /// the .html extension (with --cv: only the per-fold metrics and their mean ± spread,
    /// as JSON).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(k) = a.cv {
        return cv(&a, k);
    }
    let model = a.model.as_deref().unwrap_or_default();
    let dir = super::reference::model_dir(&super::home::home_at(a.home.clone()), model)?;
    let predictor = models::Predictor::load(&dir, a.hyper.device.resolve()?)?;
    let cfg = a.data.config();
    let table = train::load_table(&cfg)?;
    let (ds, drops) = train::Dataset::from_table(&table, &cfg)?;
    if ds.label_names != predictor.labels() {
        anyhow::bail!(
            "the data's classes {:?} differ from the model's {:?}",
            ds.label_names,
            predictor.labels()
        );
    }
    let eval = train::evaluate_model(predictor.model(), &ds)?;
    println!("{}", eval.table());
    if drops.missing_text + drops.missing_label > 0 {
        println!(
            "dropped {} rows without text and {} without label (of {})",
            drops.missing_text, drops.missing_label, drops.rows_read
        );
    }
    if let Some(out) = a.out {
        let html = out.with_extension("html");
        anyhow::ensure!(
            html != out,
            "--out {} would be overwritten by the HTML page: give a .json path",
            out.display()
        );
        std::fs::write(&out, serde_json::to_vec_pretty(&eval.to_json())?)
            .with_context(|| format!("writing {}", out.display()))?;
        let context = vec![
            ("model".to_string(), model.to_string()),
            ("model version".to_string(), predictor.version().to_string()),
            ("data".to_string(), cfg.path.display().to_string()),
        ];
        let meta: Option<serde_json::Value> = std::fs::read(dir.join(models::artifact::METADATA))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let page = train::report::evaluation_page(&eval, meta.as_ref(), context);
        std::fs::write(&html, page).with_context(|| format!("writing {}", html.display()))?;
    }
    Ok(())
}

fn cv(a: &EvaluateArgs, k: usize) -> anyhow::Result<()> {
    let mut cfg = a.hyper.train_config()?;
    cfg.progress = false;
    cfg.check()?;
    let p = train::job::prepare(&a.data.config(), &train::ValidationConfig::default())?;
    let folds = folds(&p.dataset, Validation::KFold { k }, a.hyper.seed)?;
    let cv = cross_validate(&cfg, &p.dataset, &folds)?;
    println!(
        "{k}-fold cross-validation on {} rows (mean ± spread):",
        p.dataset.len()
    );
    for (name, s) in &cv.metrics {
        println!("  {name:<18} {:.4} ± {:.4}", s.mean, s.std);
    }
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_vec_pretty(&cv)?)?;
    }
    Ok(())
}
