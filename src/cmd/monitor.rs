//! `sentio monitor`: one-shot drift runs and model-quality reports over captured traffic,
//! and the closed loop from the command line: a drift violation retrains the drifted
//! version from its lineage (`--retrain`, with the production ground truth via
//! `--feedback`), and an approved new version can go to the endpoint as a canary with an
//! A/B experiment (`--deploy canary:PERCENT`). `monitor run --fail-on-violation` exits with
//! status 3 (and a line on stderr) when there are violations: distinct from 1 (an error)
//! and 2 (a usage error).
use super::reference;
use super::retrain::{retrain, RetrainSettings};
use anyhow::Context;
use monitoring::drift::{run_once, Baselines, CheckResult, MonitorConfig, MonitorRun, Thresholds};
use pipeline::Home;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit status of `sentio monitor run --fail-on-violation` when there are violations.
pub const EXIT_VIOLATIONS: u8 = 3;

/// Drift and model-quality monitoring of captured traffic.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// Sentio home (registry) for `registry:` references, per-version baselines and
    /// retraining.
    #[arg(long, global = true, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
    #[command(subcommand)]
    pub command: MonitorCommand,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Capture folder of an endpoint (capture/<endpoint>) or of one variant.
    #[arg(long)]
    pub capture: PathBuf,
    /// The baseline: a folder with statistics.json and constraints.json, or a model
    /// (artifact directory or registry:GROUP[:N]) whose baseline/ is used. Without it each
    /// variant and model version is judged against its own registered model's baseline.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Model whose tokenizer profiles the texts, with --baseline (artifact directory or
    /// registry reference; default: the baseline's artifact).
    #[arg(long)]
    pub model: Option<String>,
    /// Where the outputs go.
    #[arg(long, default_value = "monitor-report")]
    pub out: PathBuf,
    /// Only records from the last this many minutes (default: all).
    #[arg(long)]
    pub window_minutes: Option<f64>,
    /// Fewest records before anything is judged.
    #[arg(long, default_value_t = 100)]
    pub min_samples: u64,
    /// Family-wise significance level (Bonferroni-corrected per feature).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Threads reading and profiling.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// POST the violations to this http:// URL when there are any.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Retrain the drifted model version from its lineage when there are violations.
    #[arg(long)]
    pub retrain: bool,
    /// Retrain in this SENTIO_HOME (implies --retrain; default: --home).
    #[arg(long)]
    pub retrain_home: Option<PathBuf>,
    /// New data for retraining: a data file, or a folder whose data files are all read.
    #[arg(long)]
    pub retrain_data: Option<PathBuf>,
    /// The endpoint's feedback folder (or file): its ground truth, joined with the
    /// captured texts, joins the training data.
    #[arg(long)]
    pub feedback: Option<PathBuf>,
    /// Register the retrained version as Approved (it still has to pass the gate).
    #[arg(long)]
    pub auto_approve: bool,
    /// Deploy an approved retrained version as `canary:PERCENT` of the traffic of the
    /// endpoint at --url, with an A/B experiment in --state-dir.
    #[arg(long, value_parser = parse_canary, requires_all = ["url", "state_dir"])]
    pub deploy: Option<f64>,
    /// Base URL of the endpoint (management API), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token of the endpoint's management API.
    #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The endpoint's state folder (experiments).
    #[arg(long, env = "SENTIO_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Exit with status 3 when there are violations (1 is an error, 2 a usage error).
    #[arg(long)]
    pub fail_on_violation: bool,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum MonitorCommand {
    /// Compare captured traffic with baselines once; write constraint_violations.json,
    /// monitoring_report.json and report.html (per variant and version without --baseline).
    Run(Box<RunArgs>),
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

/// `canary:PERCENT` → the percentage (0–50).
fn parse_canary(s: &str) -> Result<f64, String> {
    let p = s
        .strip_prefix("canary:")
        .ok_or_else(|| format!("{s:?}: use canary:PERCENT, e.g. canary:10"))?
        .trim_end_matches('%')
        .parse::<f64>()
        .map_err(|e| format!("{s:?}: {e}"))?;
    if !(p > 0.0 && p <= 50.0) {
        return Err(format!(
            "{s:?}: a canary takes more than 0 and at most 50 percent"
        ));
    }
    Ok(p)
}

/// Runs `sentio monitor …`: prints the result and, for `run`, writes the reports.
pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let home = super::home::home_at(args.home.clone());
    match args.command {
        MonitorCommand::Run(a) => run_drift(&home, *a),
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

fn run_drift(home: &Home, a: RunArgs) -> anyhow::Result<ExitCode> {
    let (baselines, one_version) = match &a.baseline {
        Some(b) => {
            let baseline_dir = reference::baseline_dir(home, b)?;
            let model_dir = a
                .model
                .as_deref()
                .map(|m| reference::model_dir(home, m))
                .transpose()?;
            let artifact = model_dir
                .clone()
                .or_else(|| baseline_dir.parent().map(PathBuf::from));
            let version = artifact
                .and_then(|d| models::Artifact::open(&d).ok())
                .map(|x| x.version());
            (
                Baselines::One {
                    baseline_dir,
                    model_dir,
                },
                version,
            )
        }
        None => (
            Baselines::PerVersion(Arc::new(reference::registry_model_dirs(home)?)),
            None,
        ),
    };
    let cfg = MonitorConfig {
        capture_dir: a.capture.clone(),
        baselines,
        window: a
            .window_minutes
            .map(|m| Duration::try_from_secs_f64(m * 60.0))
            .transpose()
            .context("--window-minutes must be ≥ 0")?,
        thresholds: Thresholds {
            min_samples: a.min_samples,
            alpha: a.alpha,
            ..Thresholds::default()
        },
        out_dir: a.out.clone(),
        threads: a.threads,
    };
    let t = std::time::Instant::now();
    let run = run_once(&cfg)?;
    print_run(&run, t.elapsed(), &a.out);
    let violated = run.violations().count();
    if violated > 0 {
        if let Some(url) = &a.webhook {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve::schedule::webhook(url, &run))
                .map_err(anyhow::Error::msg)?;
        }
        if a.retrain || a.retrain_home.is_some() {
            let version = run
                .groups
                .iter()
                .find(|g| !g.result.violations.is_empty())
                .and_then(|g| g.model_version.clone())
                .or(one_version)
                .context("the drifted traffic names no registered model version to retrain")?;
            let reason = serve::schedule::reason(&run, cfg.window);
            retrain_and_deploy(home, &a, &version, &reason)?;
        }
    }
    if a.fail_on_violation && violated > 0 {
        eprintln!(
            "monitor: {violated} violation(s) and --fail-on-violation: exit status {EXIT_VIOLATIONS}"
        );
        return Ok(ExitCode::from(EXIT_VIOLATIONS));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_run(run: &MonitorRun, took: Duration, out: &std::path::Path) {
    println!(
        "{} records in {} group(s), {} violation(s) in {:.2} s; report in {}",
        run.records(),
        run.groups.len(),
        run.violations().count(),
        took.as_secs_f64(),
        out.display()
    );
    for g in &run.groups {
        if let (Some(v), Some(m)) = (&g.variant, &g.model_version) {
            println!("variant {v}, model {m}:");
        }
        print_result(&g.result);
    }
    for u in &run.unjudged {
        println!(
            "  not judged: variant {}, model {:?}: {} records ({})",
            u.variant, u.model_version, u.records, u.reason
        );
    }
}

fn print_result(r: &CheckResult) {
    println!("  {} records, status {}", r.records, r.status);
    if r.unreadable_lines > 0 {
        println!(
            "  {} line(s) of the capture files are not capture records and are left out",
            r.unreadable_lines
        );
    }
    if r.unprofiled_texts > 0 {
        println!(
            "  {} text(s) the tokenizer failed on are left out of the text features",
            r.unprofiled_texts
        );
    }
    for f in &r.features {
        println!(
            "  {:<20} n={:<8} PSI {:>7.4}  JS {:>6.4}  {} p={:.2e}  {}",
            f.name, f.count, f.psi, f.js_distance, f.test, f.p_value, f.severity
        );
    }
    for v in &r.violations {
        println!(
            "  violation: {} {}: {}",
            v.constraint_check_type, v.feature_name, v.description
        );
    }
}

/// Retrains `version` and, with --deploy, tries an approved result as a canary.
fn retrain_and_deploy(home: &Home, a: &RunArgs, version: &str, reason: &str) -> anyhow::Result<()> {
    let settings = RetrainSettings {
        home: a
            .retrain_home
            .clone()
            .unwrap_or_else(|| home.root().to_path_buf()),
        data: a.retrain_data.clone(),
        with_feedback: a.feedback.is_some(),
        auto_approve: a.auto_approve,
        overrides: Vec::new(),
    };
    println!("retraining {version}: {reason}");
    let done = retrain(
        &settings,
        version,
        reason,
        Some(&a.capture),
        a.feedback.as_deref(),
    )?;
    super::retrain::print(&done, false)?;
    let (Some(percent), Some(v)) = (a.deploy, &done.summary.registered) else {
        return Ok(());
    };
    if v.status != pipeline::ApprovalStatus::Approved {
        println!("{} awaits approval: no canary", v.version);
        return Ok(());
    }
    let url = a.url.as_deref().context("--deploy needs --url")?;
    let state = a
        .state_dir
        .as_deref()
        .context("--deploy needs --state-dir")?;
    let reference = format!("registry:{}:{}", v.group, v.version);
    let canary = super::experiment::deploy_canary(
        url,
        a.admin_token.as_deref(),
        state,
        &reference,
        &v.version,
        percent,
    )?;
    println!(
        "canary {} ({}) gets {percent}% of the traffic; experiment {} compares it with {}",
        canary.variant, v.version, canary.experiment, canary.live
    );
    Ok(())
}
