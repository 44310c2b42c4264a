//! `sentio pipeline run|describe|resume|watch|list|show|plan|run-step|finish|export`:
//! arguments and printing; the work is the pipeline crate's.
mod by_step;
mod export;

use super::home::HomeArgs;
use anyhow::Context;
use pipeline::describe::{describe_json, describe_text, list_executions};
use pipeline::params::parse_assignment;
use pipeline::{
    resume, trigger, watch, CachePolicy, ExecutionSummary, ExecutorConfig, PipelineSource, Stores,
    WatchConfig,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Pipelines: run, explain, resume and watch.
#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(subcommand)]
    pub command: PipelineCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PipelineCommand {
    /// Run a pipeline (the built-in one unless --definition is given).
    Run(RunArgs),
    /// Explain an execution: steps, status, timings, cache decisions, failures.
    Describe(DescribeArgs),
    /// Continue an interrupted or failed execution after its last successful step.
    Resume(ResumeArgs),
    /// Re-run when a data file appears or changes in a folder, or the parameters file changes.
    Watch(WatchArgs),
    /// Recent executions, newest first.
    List(ListArgs),
    /// Print the built-in pipeline definition (a starting point for --definition).
    Show,
    /// Record an execution without running it; its steps then run with run-step.
    Plan(by_step::PlanArgs),
    /// Run one step of a planned execution from the shared stores (for workflow engines).
    RunStep(by_step::RunStepArgs),
    /// End a planned execution: steps that never ran are Skipped; status and manifest.
    Finish(by_step::FinishArgs),
    /// Write the pipeline as a workflow (Argo Workflows) whose tasks call run-step.
    Export(export::ExportArgs),
    /// Retrain a registered version from its lineage: its pipeline and parameters on its
    /// data (or new data) plus, with --capture and --feedback, labelled production traffic.
    Retrain(super::retrain::RetrainArgs),
}

/// Which pipeline and parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Pipeline definition (TOML) [default: the built-in pipeline].
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Parameter override `name=value` (repeatable), checked against the declared type
    /// [default: the definition's defaults].
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// TOML file of `name = value` parameters; --param wins over it [default: none].
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
}

impl SourceArgs {
    fn source(&self) -> anyhow::Result<PipelineSource> {
        Ok(PipelineSource {
            definition: self.definition.clone(),
            params_file: self.params_file.clone(),
            overrides: self
                .params
                .iter()
                .map(|p| parse_assignment(p))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Caching and concurrency.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// Run every step, even when a cached result matches.
    #[arg(long)]
    pub no_cache: bool,
    /// Do not reuse cached results older than this (30d, 12h, 45m, 90s or never).
    #[arg(long, default_value = "30d", value_parser = parse_expiry, value_name = "AGE")]
    pub cache_expiry: Expiry,
    /// Steps run at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_parallel: usize,
}

/// A cache expiry; `None` never expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(pub Option<std::time::Duration>);

/// `30d`, `12h`, `45m`, `90s`, `1h 30m` (humantime; plain numbers are seconds) or `never`.
fn parse_duration(s: &str) -> Result<Option<std::time::Duration>, String> {
    let s = s.trim();
    if s == "never" || s == "none" {
        return Ok(None);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Some(std::time::Duration::from_secs(secs)));
    }
    humantime::parse_duration(s)
        .map(Some)
        .map_err(|e| format!("{s:?} is not a duration like 30d, 12h, 45m or 90s: {e}"))
}

fn parse_expiry(s: &str) -> Result<Expiry, String> {
    parse_duration(s).map(Expiry)
}

impl ExecArgs {
    /// The executor's configuration with the default caching and concurrency.
    fn default_config(home: &HomeArgs) -> ExecutorConfig {
        ExecutorConfig::new(home.home())
    }

    fn config(&self, home: &HomeArgs) -> ExecutorConfig {
        let mut c = ExecutorConfig::new(home.home());
        c.cache = CachePolicy {
            enabled: !self.no_cache,
            expire_after: self.cache_expiry.0,
        };
        c.max_parallel = self.max_parallel;
        c
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Print the execution summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// Execution id or a unique prefix [default: the latest execution].
    pub execution: Option<String>,
    /// Print the execution manifest (with its step runs) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// Execution id or a unique prefix.
    pub execution: String,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Print the execution summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Folder to watch for new or changed data files (.csv, .jsonl, optionally .gz).
    pub folder: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// The pipeline parameter that receives the data file.
    #[arg(long, default_value = "input_data", value_name = "NAME")]
    pub data_param: String,
    /// Seconds between polls.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Stop after this many runs [default: run until Ctrl-C].
    #[arg(long, value_name = "N")]
    pub max_runs: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// How many executions.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Print the executions as JSON.
    #[arg(long)]
    pub json: bool,
}

fn print_summary(s: &ExecutionSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    println!(
        "execution {}: {} in {:.1}s (orchestration overhead {:.2}s)",
        s.id, s.status, s.wall_s, s.overhead_s
    );
    for st in &s.steps {
        println!(
            "  {:<14} {:<10} {:>7.2}s  {}",
            st.name,
            st.status.to_string(),
            st.duration_s,
            st.failure_reason
                .as_deref()
                .or(st.decision.as_deref())
                .unwrap_or("")
        );
    }
    if let Some(v) = &s.registered {
        println!(
            "registered {}/{} = {} ({})",
            v.group, v.number, v.version, v.status
        );
    }
    if let Some(r) = &s.failure_reason {
        println!("failed: {r}");
    }
    Ok(())
}

/// A failed execution is a failed command.
fn outcome(s: &ExecutionSummary) -> anyhow::Result<()> {
    match &s.failure_reason {
        Some(r) => anyhow::bail!("execution {} failed: {r}", s.id),
        None => Ok(()),
    }
}

/// Stops the watch on Ctrl-C, after the run in progress (a second Ctrl-C is not needed:
/// the store stays consistent even when the process is killed).
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
                tracing::info!("Ctrl-C: stopping the watch");
                flag.store(true, Ordering::Relaxed);
            }
        }
    });
    stop
}

fn describe(stores: &Stores, a: DescribeArgs) -> anyhow::Result<()> {
    let store = &*stores.metadata;
    let e = match &a.execution {
        Some(id) => store
            .execution(id)?
            .with_context(|| format!("execution {id:?} not found"))?,
        None => store
            .executions(1)?
            .into_iter()
            .next()
            .context("no executions yet")?,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&describe_json(store, &e)?)?
        );
    } else {
        print!("{}", describe_text(store, &e)?);
    }
    Ok(())
}

fn list(stores: &Stores, a: ListArgs) -> anyhow::Result<()> {
    let rows = list_executions(&*stores.metadata, a.limit)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<26} {:<10} {:<24} {:<24} trigger",
        "execution", "pipeline", "status", "started"
    );
    for e in rows {
        println!(
            "{:<26} {:<10} {:<24} {:<24} {}",
            e.id,
            e.pipeline,
            e.status_text(),
            e.started_at,
            e.trigger
        );
    }
    Ok(())
}

/// Runs `sentio pipeline …`.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let stores = || args.home.home().open_stores();
    match args.command {
        PipelineCommand::Show => {
            print!("{}", pipeline::DEFAULT_PIPELINE);
            Ok(())
        }
        PipelineCommand::Run(a) => {
            let cfg = a.exec.config(&args.home);
            let s = trigger(&cfg, &stores()?, "manual", &a.source.source()?)?;
            print_summary(&s, a.json)?;
            outcome(&s)
        }
        PipelineCommand::Resume(a) => {
            let cfg = a.exec.config(&args.home);
            let s = resume(&cfg, &stores()?, &a.execution)?;
            print_summary(&s, a.json)?;
            outcome(&s)
        }
        PipelineCommand::Retrain(a) => super::retrain::run_cli(&args.home.home(), a),
        PipelineCommand::Describe(a) => describe(&stores()?, a),
        PipelineCommand::Plan(a) => by_step::plan(&args.home, a),
        PipelineCommand::RunStep(a) => by_step::run_step(&args.home, a),
        PipelineCommand::Finish(a) => by_step::finish(&args.home, a),
        PipelineCommand::Export(a) => export::export(a),
        PipelineCommand::List(a) => list(&stores()?, a),
        PipelineCommand::Watch(a) => {
            let cfg = a.exec.config(&args.home);
            let stop = stop_on_ctrl_c();
            let w = WatchConfig {
                folder: a.folder,
                data_param: a.data_param,
                interval: std::time::Duration::from_secs_f64(a.interval.max(0.05)),
                max_runs: a.max_runs,
                source: a.source.source()?,
            };
            for s in watch(&cfg, &stores()?, &w, &stop)? {
                print_summary(&s, false)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: PipelineArgs,
    }

    #[test]
    fn arguments_parse() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "x",
            "--home",
            "/tmp/h",
            "run",
            "-p",
            "epochs=3",
            "--param",
            "seed=1",
            "--cache-expiry",
            "7d",
            "--no-cache",
        ])
        .unwrap();
        let PipelineCommand::Run(r) = c.args.command else {
            panic!("run")
        };
        assert_eq!(r.source.params, vec!["epochs=3", "seed=1"]);
        assert_eq!(
            r.exec.cache_expiry,
            Expiry(Some(std::time::Duration::from_secs(7 * 86_400)))
        );
        let cfg = r.exec.config(&c.args.home);
        assert!(!cfg.cache.enabled);
        assert_eq!(cfg.home.root(), std::path::Path::new("/tmp/h"));
        let c = Cli::try_parse_from(["x", "resume", "abc", "--cache-expiry", "never"]).unwrap();
        assert!(matches!(
            c.args.command,
            PipelineCommand::Resume(ResumeArgs {
                exec: ExecArgs {
                    cache_expiry: Expiry(None),
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn home_before_or_after_the_subcommand_and_json_lists() {
        for argv in [
            ["x", "--home", "/tmp/h", "list", "--json"],
            ["x", "list", "--home", "/tmp/h", "--json"],
        ] {
            let c = Cli::try_parse_from(argv).unwrap();
            assert_eq!(c.args.home.home, std::path::Path::new("/tmp/h"));
            assert!(matches!(
                c.args.command,
                PipelineCommand::List(ListArgs { json: true, .. })
            ));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            Some(std::time::Duration::from_secs(7 * 86_400))
        );
        assert_eq!(parse_duration("never").unwrap(), None);
        assert_eq!(
            parse_duration("2 weeks").unwrap(),
            Some(std::time::Duration::from_secs(14 * 86_400))
        );
        assert!(parse_duration("7 eons").is_err());
        assert!(parse_duration("-3d").is_err());
    }
}
