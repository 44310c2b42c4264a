//! `sentio evaluate`.
use super::data_args::DataArgs;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvaluateArgs {
    /// The model: an artifact directory, or registry:GROUP[:N] (any registered version).
    #[arg(long)]
    pub model: String,
    /// Sentio home, for registry references.
    #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Write evaluation.json here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
}

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    let dir = super::reference::model_dir(&super::home::home_at(a.home.clone()), &a.model)?;
    let predictor = models::Predictor::load(&dir, a.device.resolve()?)?;
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
        std::fs::write(&out, serde_json::to_vec_pretty(&eval.to_json())?)?;
    }
    Ok(())
}
