//! `sentio train`.
use super::data_args::DataArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use train::job::TrainJob;
use train::{Architecture, Balance, SplitConfig, TrainConfig, ValidationConfig};

#[derive(Copy, Clone, ValueEnum)]
pub enum ArchArg {
    /// Bag of token n-grams (fastText style); trains in seconds on a CPU.
    Fasttext,
    /// A small transformer encoder trained from scratch.
    Transformer,
    /// Fine-tune a pretrained BERT-family checkpoint (--checkpoint).
    Bert,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum BalanceArg {
    None,
    Downsample,
    ClassWeights,
}

#[derive(Args, Clone)]
pub struct HyperArgs {
    /// Model architecture.
    #[arg(long, value_enum, default_value = "fasttext")]
    pub architecture: ArchArg,
    /// Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json) for --architecture bert.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long = "lr")]
    pub learning_rate: Option<f64>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Maximum tokens per text (longer texts are truncated).
    #[arg(long)]
    pub max_len: Option<usize>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Share of steps for the linear learning-rate warm-up.
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Early-stopping patience in epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Seed for the split, shuffling and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// auto (CUDA when available), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
    /// Class balancing of the training split.
    #[arg(long, value_enum, default_value = "class-weights")]
    pub balance: BalanceArg,
    /// Tokenizer vocabulary size to train.
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// fastText embedding size.
    #[arg(long)]
    pub dim: Option<usize>,
    /// fastText hashed bigram rows.
    #[arg(long)]
    pub bigram_buckets: Option<usize>,
    #[arg(long)]
    pub dropout: Option<f64>,
    /// fastText: learning rate of the sparse embedding (lazy Adam) as a multiple of --lr.
    #[arg(long)]
    pub sparse_lr_scale: Option<f64>,
    /// Validation share of the data.
    #[arg(long, default_value_t = 0.1)]
    pub validation_share: f64,
    /// Test share of the data.
    #[arg(long, default_value_t = 0.1)]
    pub test_share: f64,
}

impl HyperArgs {
    pub fn train_config(&self) -> anyhow::Result<TrainConfig> {
        let arch = match self.architecture {
            ArchArg::Fasttext => Architecture::FastText,
            ArchArg::Transformer => Architecture::Transformer,
            ArchArg::Bert => Architecture::Bert {
                checkpoint: self.checkpoint.clone().ok_or_else(|| {
                    anyhow::anyhow!("--architecture bert needs --checkpoint DIR (a Hugging Face checkpoint directory)")
                })?,
            },
        };
        let mut c = TrainConfig::for_architecture(arch);
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            epochs,
            learning_rate,
            batch_size,
            max_len,
            weight_decay,
            warmup,
            patience,
            vocab_size,
            dim,
            bigram_buckets,
            dropout,
            sparse_lr_scale
        );
        c.seed = self.seed;
        c.device = self.device;
        c.balance = match self.balance {
            BalanceArg::None => Balance::None,
            BalanceArg::Downsample => Balance::Downsample,
            BalanceArg::ClassWeights => Balance::ClassWeights,
        };
        Ok(c)
    }

    pub fn split_config(&self) -> SplitConfig {
        SplitConfig {
            validation: self.validation_share,
            test: self.test_share,
            seed: self.seed,
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Artifact directory to write (refused if something is there, unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing artifact at --out (atomically: a server reading the old one
    /// keeps its open files).
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if !a.force && std::fs::symlink_metadata(&a.out).is_ok() {
        anyhow::bail!(
            "{} exists; pass --force to replace it, or choose another --out",
            a.out.display()
        );
    }
    let job = TrainJob {
        data: a.data.config(),
        validation: ValidationConfig::default(),
        split: a.hyper.split_config(),
        train: a.hyper.train_config()?,
        out: a.out,
    };
    let started = std::time::Instant::now();
    let r = train::job::run(&job)?;
    println!("{}", r.evaluation.table());
    println!(
        "model {} saved to {} (train/validation/test {}/{}/{}; training {:.1} s, {:.0} examples/s; total {:.1} s)",
        r.artifact.version(),
        r.artifact.dir.display(),
        r.splits.0,
        r.splits.1,
        r.splits.2,
        r.train_seconds,
        r.examples_per_sec,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
