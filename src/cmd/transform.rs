//! `sentio transform`: the flags of a batch transform job, which runs with a progress
//! report and prints its summary.
use serve::transform::{
    run_local_job, AssembleWith, BatchStrategy, DataProcessing, JobStatus, JoinSource, LocalModel,
    RunOptions, SplitType, TransformSpec, DEFAULT_MAX_PAYLOAD_MB,
};
use serve::BatchConfig;
use std::path::PathBuf;

/// A knob's flag: SageMaker's name of a value, or its lower or kebab case.
fn knob<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

/// Batch transform: predict every record of jsonlines / CSV / text files (gzip too) into
/// `<input>.out` files, with SageMaker's knobs, bad records isolated in `<input>.err`, and
/// resumption after a crash (run the same command again).
#[derive(Debug, Clone, clap::Args)]
pub struct TransformArgs {
    /// Model artifact directory.
    #[arg(long, env = "SENTIO_MODEL")]
    pub model: PathBuf,
    /// Input file or folder of files (.jsonl, .json, .csv, .txt, and .gz of those).
    #[arg(long)]
    pub input: PathBuf,
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
    /// ContentType of the input (default: from the file extension).
    #[arg(long)]
    pub content_type: Option<String>,
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

/// `sentio transform`: runs the job, prints the summary (JSON) on stdout, and fails when
/// the job failed.
pub fn run(args: TransformArgs) -> anyhow::Result<()> {
    let spec = args.to_spec();
    serve::transform::validate_spec(&spec)?;
    let device = args.device.parse::<models::DeviceChoice>()?.resolve()?;
    tch::set_num_threads(args.torch_threads.max(1));
    let model = LocalModel {
        path: args.model.clone(),
        device,
        batch: BatchConfig {
            max_batch_size: args.max_batch_size.max(1),
            max_batch_tokens: args.max_batch_tokens,
            queue_capacity: 4 * args.max_batch_size.max(1) * args.max_concurrent_transforms.max(1),
            ..BatchConfig::default()
        },
        tokenizer_threads: args.tokenizer_threads,
    };
    let options = RunOptions {
        progress: !args.quiet,
    };
    let summary = run_local_job(model, spec, options)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if summary.status == JobStatus::Failed {
        anyhow::bail!(
            "the transform job failed: {}",
            summary.failure_reason.unwrap_or_default()
        );
    }
    Ok(())
}
