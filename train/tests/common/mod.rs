//! Helpers shared by the training tests.
use train::job::TrainJob;
use train::{Architecture, DataConfig, SplitConfig, TrainConfig, ValidationConfig};

/// A small, fast configuration.
pub fn small_config(arch: Architecture) -> TrainConfig {
    let mut c = TrainConfig::for_architecture(arch);
    c.device = models::DeviceChoice::Cpu;
    c.epochs = 4;
    c.learning_rate = 0.01;
    c.dim = 16;
    c.bigram_buckets = 5000;
    c.vocab_size = 2000;
    c.progress = false;
    c
}

pub fn job(dir: &std::path::Path, data: &std::path::Path, cfg: TrainConfig, out: &str) -> TrainJob {
    TrainJob {
        data: DataConfig::new(data),
        validation: ValidationConfig::default(),
        split: SplitConfig::default(),
        train: cfg,
        out: dir.join(out),
    }
}

/// A temporary folder holding `rows` synthetic reviews (`reviews.csv`, from `seed`).
pub fn demo_data(rows: usize, seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("reviews.csv");
    train::demo::write_csv(&data, rows, seed).unwrap();
    (dir, data)
}
