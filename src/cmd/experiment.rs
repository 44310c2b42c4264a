//! `sentio experiment …`: create, list, report and promote A/B experiments.
use anyhow::Context;
use monitoring::experiment::{
    report_from_files, Experiment, ExperimentStore, ReportOptions, Verdict,
};
use std::path::PathBuf;

/// A/B experiments between the variants of an endpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct ExperimentArgs {
    /// Serve state directory (experiments/ and feedback/ live here).
    #[arg(
        long,
        env = "SENTIO_STATE_DIR",
        default_value = ".sentio/state",
        global = true
    )]
    pub state_dir: PathBuf,
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExperimentCommand {
    /// Start an experiment: which variants are compared, by which goal metric.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "sentio")]
        endpoint: String,
        /// A compared variant (repeatable; the first is the control).
        #[arg(long = "variant", required = true, value_delimiter = ',')]
        variants: Vec<String>,
        /// A shadow variant whose agreement is reported.
        #[arg(long)]
        shadow: Option<String>,
        #[arg(long, default_value = "accuracy")]
        goal: String,
    },
    /// List experiments.
    List,
    /// Per-variant traffic, latency, predictions, accuracy with intervals, a significance
    /// test and a verdict.
    Report {
        #[arg(long)]
        id: String,
        /// The endpoint's capture folder (capture/<endpoint>).
        #[arg(long)]
        capture: PathBuf,
        /// Ground truth (default: <state-dir>/feedback/<endpoint>.jsonl).
        #[arg(long)]
        feedback: Option<PathBuf>,
        #[arg(long, default_value_t = 100)]
        min_samples: u64,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Smallest accuracy difference worth detecting.
        #[arg(long, default_value_t = 0.05)]
        min_effect: f64,
    },
    /// Shift all weight to the winner through the management API and record it.
    Promote {
        #[arg(long)]
        id: String,
        /// Base URL of the endpoint, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// The winner (default: the report's verdict, which must name one).
        #[arg(long)]
        winner: Option<String>,
        #[arg(long)]
        capture: Option<PathBuf>,
        #[arg(long)]
        feedback: Option<PathBuf>,
    },
}

/// Runs `sentio experiment …`.
pub fn run(args: ExperimentArgs) -> anyhow::Result<()> {
    let store = ExperimentStore::new(&args.state_dir);
    match args.command {
        ExperimentCommand::Create {
            id,
            endpoint,
            variants,
            shadow,
            goal,
        } => {
            let mut e = Experiment::new(&id, &endpoint, variants)?;
            e.shadow = shadow;
            e.goal_metric = goal;
            store.create(&e)?;
            println!("{}", serde_json::to_string_pretty(&e)?);
        }
        ExperimentCommand::List => {
            for e in store.list()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.endpoint,
                    e.variants.join(","),
                    e.status,
                    e.started_at
                );
            }
        }
        ExperimentCommand::Report {
            id,
            capture,
            feedback,
            min_samples,
            alpha,
            min_effect,
        } => {
            let opts = ReportOptions {
                alpha,
                min_samples,
                min_effect,
                ..ReportOptions::default()
            };
            let r = report_from_files(&args.state_dir, &id, &capture, feedback.as_deref(), &opts)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        ExperimentCommand::Promote {
            id,
            url,
            admin_token,
            winner,
            capture,
            feedback,
        } => {
            let mut e = store.load(&id)?;
            let winner = match winner {
                Some(w) => w,
                None => {
                    let capture = capture.context("give --winner or --capture for the verdict")?;
                    let r = report_from_files(
                        &args.state_dir,
                        &id,
                        &capture,
                        feedback.as_deref(),
                        &ReportOptions::default(),
                    )?;
                    match r.verdict {
                        Verdict::Winner { variant, .. } => variant,
                        other => anyhow::bail!(
                            "no winner to promote: {}",
                            serde_json::to_string(&other)?
                        ),
                    }
                }
            };
            if !e.variants.contains(&winner) {
                anyhow::bail!("{winner:?} is not a variant of experiment {id:?}");
            }
            let weights: serde_json::Map<String, serde_json::Value> = e
                .variants
                .iter()
                .map(|v| {
                    (
                        v.clone(),
                        serde_json::json!(if *v == winner { 1.0 } else { 0.0 }),
                    )
                })
                .collect();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let target = format!("{}/v1/admin/weights", url.trim_end_matches('/'));
            rt.block_on(serve::client::send_json(
                hyper::Method::PUT,
                &target,
                &serde_json::json!({ "weights": weights }),
                Some(&admin_token),
            ))?;
            e.status = "promoted".into();
            e.winner = Some(winner.clone());
            e.ended_at = Some(chrono::Utc::now());
            store.save(&e)?;
            println!("promoted {winner} in experiment {id}: all weight moved to it");
        }
    }
    Ok(())
}
