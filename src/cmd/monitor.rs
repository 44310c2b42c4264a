//! `sentio monitor`: one-shot drift runs and model-quality reports over captured traffic.
//! `monitor run --fail-on-violation` exits with status 2 (and a line on stderr) when there
//! are violations.
use super::retrain::PipelineRetrainer;
use anyhow::Context;
use monitoring::drift::{run_once, MonitorConfig, Thresholds};
use serve::schedule::Action;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit status of `sentio monitor run --fail-on-violation` when there are violations.
pub const EXIT_VIOLATIONS: u8 = 2;

/// Drift and model-quality monitoring of captured traffic.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    #[command(subcommand)]
    pub command: MonitorCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum MonitorCommand {
    /// Compare captured traffic with a model's baseline once; write constraint_violations.json,
    /// monitoring_report.json and report.html.
    Run {
        /// Capture folder of an endpoint (capture/<endpoint>) or of one variant.
        #[arg(long)]
        capture: PathBuf,
        /// Folder with statistics.json and constraints.json (a model's baseline/).
        #[arg(long)]
        baseline: PathBuf,
        /// Model artifact whose tokenizer profiles the texts (default: the baseline's parent).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Where the outputs go.
        #[arg(long, default_value = "monitor-report")]
        out: PathBuf,
        /// Only records from the last this many minutes (default: all).
        #[arg(long)]
        window_minutes: Option<f64>,
        /// Fewest records before anything is judged.
        #[arg(long, default_value_t = 100)]
        min_samples: u64,
        /// Family-wise significance level (Bonferroni-corrected per feature).
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Threads reading and profiling.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// POST the violations to this http:// URL when there are any.
        #[arg(long)]
        webhook: Option<String>,
        /// Trigger the retraining pipeline in this SENTIO_HOME when there are violations.
        #[arg(long)]
        retrain_home: Option<PathBuf>,
        /// Exit with status 2 when there are violations.
        #[arg(long)]
        fail_on_violation: bool,
    },
    /// Model quality per variant: captured predictions joined with ground truth.
    Quality {
        #[arg(long)]
        capture: PathBuf,
        /// JSON-lines file (or folder) of {"inferenceId", "label" | "labels"} records.
        #[arg(long)]
        feedback: PathBuf,
        /// Also write the report here (JSON).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `sentio monitor …`: prints the result and, for `run`, writes the reports.
pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        MonitorCommand::Run {
            capture,
            baseline,
            model,
            out,
            window_minutes,
            min_samples,
            alpha,
            threads,
            webhook,
            retrain_home,
            fail_on_violation,
        } => {
            let cfg = MonitorConfig {
                capture_dir: capture,
                baseline_dir: baseline,
                model_dir: model,
                window: window_minutes
                    .map(|m| Duration::try_from_secs_f64(m * 60.0))
                    .transpose()
                    .context("--window-minutes must be ≥ 0")?,
                thresholds: Thresholds {
                    min_samples,
                    alpha,
                    ..Thresholds::default()
                },
                out_dir: out.clone(),
                threads,
            };
            let t = std::time::Instant::now();
            let result = run_once(&cfg)?;
            let mut actions = Vec::new();
            if let Some(url) = webhook {
                actions.push(Action::Webhook(url));
            }
            if let Some(home) = retrain_home {
                actions.push(Action::Retrain(Arc::new(PipelineRetrainer {
                    home,
                    source: pipeline::PipelineSource::default(),
                })));
            }
            if !result.violations.is_empty() && !actions.is_empty() {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                for a in &actions {
                    rt.block_on(a.fire(&result)).map_err(anyhow::Error::msg)?;
                }
            }
            println!(
                "{} records, status {}, {} violation(s) in {:.2} s; report in {}",
                result.records,
                result.status,
                result.violations.len(),
                t.elapsed().as_secs_f64(),
                out.display()
            );
            if result.unreadable_lines > 0 {
                println!(
                    "  {} line(s) of the capture files are not capture records and are left out",
                    result.unreadable_lines
                );
            }
            if result.unprofiled_texts > 0 {
                println!(
                    "  {} text(s) the tokenizer failed on are left out of the text features",
                    result.unprofiled_texts
                );
            }
            for f in &result.features {
                println!(
                    "  {:<20} n={:<8} PSI {:>7.4}  JS {:>6.4}  {} p={:.2e}  {}",
                    f.name, f.count, f.psi, f.js_distance, f.test, f.p_value, f.severity
                );
            }
            for v in &result.violations {
                println!(
                    "  violation: {} {}: {}",
                    v.constraint_check_type, v.feature_name, v.description
                );
            }
            let n = result.violations.len();
            if fail_on_violation && n > 0 {
                eprintln!(
                    "monitor: {n} violation(s) and --fail-on-violation: exit status {EXIT_VIOLATIONS}"
                );
                return Ok(ExitCode::from(EXIT_VIOLATIONS));
            }
            Ok(ExitCode::SUCCESS)
        }
        MonitorCommand::Quality {
            capture,
            feedback,
            out,
        } => {
            let records = monitoring::capture::read_dir(&capture)
                .with_context(|| format!("reading {}", capture.display()))?;
            let truth = monitoring::feedback::read_feedback(&feedback)?;
            if truth.unreadable > 0 {
                eprintln!(
                    "monitor: {} line(s) of {} are not feedback records and are left out",
                    truth.unreadable,
                    feedback.display()
                );
            }
            let q = monitoring::quality::quality(&records, &truth.records);
            let text = serde_json::to_string_pretty(&q)?;
            if let Some(p) = out {
                std::fs::write(&p, &text).with_context(|| format!("writing {}", p.display()))?;
            }
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
