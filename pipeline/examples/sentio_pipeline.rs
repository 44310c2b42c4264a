//! A stand-alone front end to the pipeline CLI library (what `sentio pipeline|registry|
//! lineage` wire in), used by bench/pipeline.sh until the main binary has the commands.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sentio-pipeline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pipelines: run, describe, resume, watch, list.
    Pipeline(pipeline::cli::PipelineArgs),
    /// The model registry.
    Registry(pipeline::cli::RegistryArgs),
    /// Lineage of a model version.
    Lineage(pipeline::cli::LineageArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SENTIO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Pipeline(a) => pipeline::cli::run_pipeline_cli(a),
        Command::Registry(a) => pipeline::cli::run_registry_cli(a),
        Command::Lineage(a) => pipeline::cli::run_lineage_cli(a),
    }
}
