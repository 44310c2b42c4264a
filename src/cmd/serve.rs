//! `sentio serve`: the endpoint, with model references resolved through the registry.
use super::catalog::RegistryCatalog;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeCmd {
    #[command(flatten)]
    pub serve: serve::ServeArgs,
    /// Sentio home (metadata store and artifacts) for `registry:` model references.
    #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
}

pub fn run(a: ServeCmd) -> anyhow::Result<()> {
    let catalog = Arc::new(RegistryCatalog::new(pipeline::Home::new(a.home)));
    serve::run_cli_with(a.serve, catalog)
}
