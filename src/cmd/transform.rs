//! `sentio transform`: the flags of a batch transform job, which runs with a progress
//! report and prints its summary; and the batching flags `sentio predict` shares.
use serve::BatchConfig;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use transform::{
    run_local_job, AssembleWith, BatchStrategy, DataProcessing, JobStatus, JoinSource, LocalModel,
    RunOptions, Shard, SplitType, TransformSpec, DEFAULT_MAX_PAYLOAD_MB,
};

/// A knob's flag: SageMaker's name of a value, or its lower or kebab case.
fn knob<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

/// Batch transform: predict every record of jsonlines / CSV / text files (gzip too) into
/// `<input>.out` files, with SageMaker's knobs, bad records isolated in `<input>.err`, and
/// resumption after a crash or a stop (run the same command again).
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Exit status: 0 completed; 1 failed (an error budget exceeded, every \
record of a file failed, or an error: the summary says which); 2 usage error; 130 / 143 \
stopped by SIGINT / SIGTERM (checkpointed: run the same command again to resume)."
)]
pub struct TransformArgs {
    /// The model: an artifact directory, or registry:GROUP[:N] (any registered version).
    #[arg(long, env = "SENTIO_MODEL")]
    pub model: String,
    /// Sentio home, for registry references.
    #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
    /// Input file or folder of files (.jsonl, .json, .csv, .txt, and .gz of those).
    #[arg(long)]
    pub input: PathBuf,
    /// This process's share of the input, INDEX/COUNT (0-based): with at least COUNT files,
    /// whole files (outputs named as unsharded); otherwise a byte range of each file, written
    /// as `<input>.shard-K-of-COUNT.out` (concatenated in K order they are the unsharded
    /// output).
    #[arg(long, value_parser = knob::<Shard>)]
    pub shard: Option<Shard>,
    /// Output folder: `<input>.out`, `<input>.err`, transform-summary.json.
    #[arg(long)]
    pub output: PathBuf,
    /// SplitType: Line (one record per line) or None (the whole file is one record).
    #[arg(long, value_parser = knob::<SplitType>, default_value_t = SplitType::Line)]
    pub split_type: SplitType,
    /// BatchStrategy: MultiRecord (pack records up to the payload) or SingleRecord.
    #[arg(long, value_parser = knob::<BatchStrategy>, default_value_t = BatchStrategy::MultiRecord)]
    pub batch_strategy: BatchStrategy,
    /// MaxPayloadInMB: largest request to the model, and largest record (1–100).
    #[arg(long = "max-payload-in-mb", default_value_t = DEFAULT_MAX_PAYLOAD_MB)]
    pub max_payload_in_mb: u32,
    /// MaxConcurrentTransforms: files transformed at once.
    #[arg(long, default_value_t = 1)]
    pub max_concurrent_transforms: usize,
    /// AssembleWith: Line (one output record per line) or None (concatenated).
    #[arg(long, value_parser = knob::<AssembleWith>, default_value_t = AssembleWith::Line)]
    pub assemble_with: AssembleWith,
    /// Accept: application/jsonlines or text/csv (default: CSV for CSV input, else JSON).
    #[arg(long)]
    pub accept: Option<String>,
    /// ContentType of the input (default: from the file extension); `text/csv;header=present`
    /// is `--csv-header`.
    #[arg(long)]
    pub content_type: Option<String>,
    /// CSV files start with a header row: it is not predicted, InputFilter may name its
    /// columns (`$.review_text`), and CSV output gets a header row.
    #[arg(long)]
    pub csv_header: bool,
    /// InputFilter: JSONPath selecting the text of each record, e.g. `$.review_body`.
    #[arg(long, default_value = "$")]
    pub input_filter: String,
    /// JoinSource: None, or Input (join the prediction to the input record).
    #[arg(long, value_parser = knob::<JoinSource>, default_value_t = JoinSource::None)]
    pub join_source: JoinSource,
    /// OutputFilter: JSONPath selecting what is written of each output record.
    #[arg(long, default_value = "$")]
    pub output_filter: String,
    /// Fail the job when more records than this fail.
    #[arg(long)]
    pub max_failed_records: Option<u64>,
    /// Fail the job when more than this percentage of a file's records fail.
    #[arg(long)]
    pub max_failed_percent: Option<f64>,
    /// Records between two progress checkpoints.
    #[arg(long, default_value_t = 10_000)]
    pub checkpoint_every: u64,
    /// Records per model request with MultiRecord.
    #[arg(long, default_value_t = 256)]
    pub max_records_per_batch: usize,
    /// Device: cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// No progress report.
    #[arg(long)]
    pub quiet: bool,
}

impl TransformArgs {
    /// The job these arguments describe.
    pub fn to_spec(&self) -> TransformSpec {
        TransformSpec {
            split_type: self.split_type,
            batch_strategy: self.batch_strategy,
            max_payload_in_mb: self.max_payload_in_mb,
            max_concurrent_transforms: self.max_concurrent_transforms,
            assemble_with: self.assemble_with,
            accept: self.accept.clone(),
            content_type: self.content_type.clone(),
            csv_header: self.csv_header,
            data_processing: DataProcessing {
                input_filter: self.input_filter.clone(),
                join_source: self.join_source,
                output_filter: self.output_filter.clone(),
            },
            max_failed_records: self.max_failed_records,
            max_failed_percent: self.max_failed_percent,
            checkpoint_every: self.checkpoint_every,
            max_records_per_batch: self.max_records_per_batch,
            ..TransformSpec::new(&self.input, &self.output)
        }
    }
}

/// How predictions are batched (shared by `sentio transform` and `sentio predict`).
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Most inputs in one forward pass.
    #[arg(long, default_value_t = 256)]
    pub max_batch_size: usize,
    /// Most padded tokens in one forward pass.
    #[arg(long, default_value_t = 65_536)]
    pub max_batch_tokens: usize,
    /// Threads tokenizing.
    #[arg(long, default_value_t = 1)]
    pub tokenizer_threads: usize,
    /// Threads libtorch uses inside one forward pass.
    #[arg(long, default_value_t = 1)]
    pub torch_threads: i32,
}

impl EngineArgs {
    /// The model at `path` with these limits (and libtorch's threads set).
    pub fn model(&self, path: &Path, device: tch::Device, streams: usize) -> LocalModel {
        tch::set_num_threads(self.torch_threads.max(1));
        let batch = self.max_batch_size.max(1);
        LocalModel {
            path: path.to_path_buf(),
            device,
            batch: BatchConfig {
                max_batch_size: batch,
                max_batch_tokens: self.max_batch_tokens,
                queue_capacity: 4 * batch * streams.max(1),
                ..BatchConfig::default()
            },
            tokenizer_threads: self.tokenizer_threads,
        }
    }
}

/// `sentio transform`: runs the job, prints the summary (JSON) on stdout, and fails when
/// the job failed; a job stopped by a signal exits with 128 + the signal's number.
pub fn run(args: TransformArgs) -> anyhow::Result<ExitCode> {
    let spec = args.to_spec();
    transform::validate_spec(&spec)?;
    let device = args.device.parse::<models::DeviceChoice>()?.resolve()?;
    let dir = super::reference::model_dir(&super::home::home_at(args.home.clone()), &args.model)?;
    let model = args
        .engine
        .model(&dir, device, args.max_concurrent_transforms);
    let options = RunOptions {
        progress: !args.quiet,
        shard: args.shard,
        signals: true,
    };
    let summary = run_local_job(model, spec, options)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    let reason = summary.failure_reason.unwrap_or_default();
    match summary.status {
        JobStatus::Failed => anyhow::bail!("the transform job failed: {reason}"),
        JobStatus::Stopped => {
            eprintln!("{reason}; run the same command again to resume");
            Ok(ExitCode::from(128 + summary.signal.unwrap_or(15) as u8))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
