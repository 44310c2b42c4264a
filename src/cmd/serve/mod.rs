//! `sentio serve`: the flags (the one place the environment is read), their conversion to
//! a `serve::ServeConfig` with model references resolved through the registry, and the
//! process around `serve::run`: the runtime, the bound listener, SIGTERM / Ctrl-C.
mod args;

use super::catalog::RegistryCatalog;
use super::home::HomeArgs;
use anyhow::Context;
use clap::Args;
use std::sync::Arc;

pub use args::ServeArgs;

#[derive(Args)]
pub struct ServeCmd {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Sentio home and store backends, for `registry:` model references.
    #[command(flatten)]
    pub home: HomeArgs,
}

pub fn run(a: ServeCmd) -> anyhow::Result<()> {
    let catalog = Arc::new(RegistryCatalog::new(a.home.home()));
    let args = a.serve;
    let config = args.to_config(catalog)?;
    tracing::debug!(?config, "configuration");
    tch::set_num_threads(args.torch_threads.max(1));
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("sentio-serve");
    if let Some(n) = args.runtime_threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("building the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("binding {}:{}", args.host, args.port))?;
        serve::run(config, listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
