//! The `loadtest` binary: parse arguments, set up tracing, run.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use loadtest::LoadtestArgs;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "loadtest", version)]
struct Cli {
    #[command(flatten)]
    args: LoadtestArgs,

    /// Log as JSON lines instead of plain text.
    #[arg(long)]
    log_json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    match loadtest::run_cli(cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The one line a user reads: the error and its causes.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
