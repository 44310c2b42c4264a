//! `sentio`: a thin CLI. It parses arguments, sets up tracing and calls into the crates.
#![forbid(unsafe_code)]

mod cmd;

// mimalloc: per-request allocations in the endpoint cost ~15% of its CPU with glibc's
// malloc (perf, bench/endpoint.sh); with mimalloc the endpoint serves ~20% more req/s.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Sentio: train, gate, register, serve and monitor a text-classification model.
#[derive(Parser)]
#[command(
    name = "sentio",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 success; 1 an error (said once on stderr, with the path or \
value that caused it); 2 a usage error; 3 drift found (`monitor run --fail-on-violation`); \
some commands document more (`transform`, `predict`: 130 / 143 when stopped by a signal). \
Output to a closed pipe ends quietly with status 0. Logs go to stderr, in colour only on a \
terminal and never with NO_COLOR set."
)]
struct Cli {
    /// What is logged: a level (error, warn, info, debug, trace) or per-module directives
    /// such as `info,serve::access=debug` (tracing's EnvFilter syntax). SENTIO_LOG is the
    /// one variable that sets it (RUST_LOG is not read) [default: info; warn for `demo`,
    /// whose steps are its output].
    #[arg(long = "log", global = true, env = "SENTIO_LOG", value_name = "FILTER", value_parser = log_filter)]
    log: Option<String>,
    /// Log as JSON lines instead of plain text.
    #[arg(long, global = true, env = "SENTIO_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole flow on built-in demo data: pipeline → registry → endpoint → predictions.
    Demo(cmd::demo::DemoArgs),
    /// Train a model on a CSV or jsonlines file and save it as an artifact.
    Train(cmd::train::TrainArgs),
    /// Evaluate a saved model on labelled data.
    Evaluate(cmd::evaluate::EvaluateArgs),
    /// Search hyperparameters (random, TPE or ASHA) with cross-validated trials; `tune
    /// describe JOB` prints a job's leaderboard.
    Tune(Box<cmd::tune::TuneArgs>),
    /// Predict the label of texts with a saved model.
    Predict(cmd::predict::PredictArgs),
    /// Check a data file (schema, completeness, class balance, duplicates).
    Validate(cmd::validate::ValidateArgs),
    /// Run, inspect, resume or watch the training pipeline.
    Pipeline(cmd::pipeline::PipelineArgs),
    /// The model registry: list, describe, approve, reject, history.
    Registry(cmd::registry::RegistryArgs),
    /// The lineage of a model version (data, code, parameters, parents, execution).
    Lineage(cmd::lineage::LineageArgs),
    /// Serve models over HTTP (SageMaker contract, variants, batching, metrics).
    Serve(Box<cmd::serve::ServeCmd>),
    /// Batch transform: predict jsonlines/CSV files (SageMaker's knobs, bad records isolated, resumable).
    Transform(Box<cmd::transform::TransformArgs>),
    /// Drift and model-quality monitoring over captured traffic.
    Monitor(Box<cmd::monitor::MonitorArgs>),
    /// A/B experiments: create, list, report (with significance), promote.
    Experiment(Box<cmd::experiment::ExperimentArgs>),
    /// Load-test an HTTP endpoint (open loop, closed loop or ramp).
    Loadtest(Box<cmd::loadtest::LoadtestArgs>),
    /// The web console of a home: pipelines, registry, lineage, endpoints, monitoring, experiments.
    Console(Box<cmd::console::ConsoleArgs>),
    /// Start a project: pipeline, parameters, sample data, deployment, Makefile and CI.
    Init(cmd::init::InitArgs),
}

/// A valid log filter, or why it is not one.
fn log_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn init_tracing(filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// `sentio registry list | head -1`: printing to a pipe whose reader has gone ends the
/// process quietly with status 0 (as `ls | head` does), not with a panic message. Rust's
/// `println!` panics on EPIPE (SIGPIPE is ignored); this hook recognises that panic alone.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let default_log = match cli.command {
        Command::Demo(_) => "warn",
        _ => "info",
    };
    init_tracing(cli.log.as_deref().unwrap_or(default_log), cli.log_json);
    // Exit status 0 unless a command asks for another (`monitor run --fail-on-violation`);
    // 1 for any error.
    let mut status = ExitCode::SUCCESS;
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Tune(a) => cmd::tune::run(*a),
        Command::Predict(a) => cmd::predict::run(a).map(|s| status = s),
        Command::Validate(a) => cmd::validate::run(a),
        Command::Pipeline(a) => cmd::pipeline::run(a),
        Command::Registry(a) => cmd::registry::run(a),
        Command::Lineage(a) => cmd::lineage::run(a),
        Command::Serve(a) => cmd::serve::run(*a),
        Command::Transform(a) => cmd::transform::run(*a).map(|s| status = s),
        Command::Monitor(a) => cmd::monitor::run(*a).map(|s| status = s),
        Command::Experiment(a) => cmd::experiment::run(*a),
        Command::Loadtest(a) => cmd::loadtest::run(*a),
        Command::Console(a) => cmd::console::run(*a),
        Command::Init(a) => cmd::init::run(a).map(|s| status = s),
    };
    match result {
        Ok(()) => status,
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Whether writing the output failed because its reader went away.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes, each said once: a cause whose text its parent already quotes
/// (`"{path}: {source}"`) is not repeated.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}
