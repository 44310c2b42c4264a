//! `sentio demo`: the whole flow on built-in demo data.
use clap::Args;
use std::path::PathBuf;
use train::job::TrainJob;
use train::{Architecture, DataConfig, SplitConfig, TrainConfig, ValidationConfig};

#[derive(Args)]
pub struct DemoArgs {
    /// Working directory for the demo's data and model.
    #[arg(long, default_value = "demo-out")]
    pub dir: PathBuf,
    /// Synthetic reviews to generate.
    #[arg(long, default_value_t = 3000)]
    pub rows: usize,
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    let data = a.dir.join("demo_reviews.csv");
    train::demo::write_csv(&data, a.rows, 7)?;
    println!("1. generated {} synthetic reviews in {}", a.rows, data.display());
    let mut tc = TrainConfig::for_architecture(Architecture::FastText);
    tc.device = a.device;
    let job = TrainJob {
        data: DataConfig::new(&data),
        validation: ValidationConfig::default(),
        split: SplitConfig::default(),
        train: tc,
        out: a.dir.join("model"),
    };
    let r = train::job::run(&job)?;
    println!("2. trained and evaluated on the held-out test split:\n{}", r.evaluation.table());
    println!("3. saved model {} to {}", r.artifact.version(), r.artifact.dir.display());
    let predictor = models::Predictor::load(&r.artifact.dir, a.device.resolve()?)?;
    let samples = [
        "I love this dress, the fabric is so soft and it fits perfectly.",
        "The seams came apart after one wash. Very disappointed.",
        "It is okay, nothing special, runs a bit large.",
    ];
    println!("4. predictions from the reloaded model:");
    for (t, p) in samples.iter().zip(predictor.predict(&samples)?) {
        let conf = p.probabilities[p.label_index];
        println!("   {:<9} ({:.2})  {t}", p.label, conf);
    }
    Ok(())
}
