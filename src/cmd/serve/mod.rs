//! `sentio serve`: the flags (the one place the environment is read), their conversion to
//! a `serve::ServeConfig` with model references resolved through the registry, and the
//! process around `serve::run`: the runtime, the bound listener, SIGTERM / Ctrl-C.
mod args;
mod observe;

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
    // Connections need file descriptors: take what the hard limit allows, before the
    // connection cap is checked against it.
    match serve::limits::raise_fd_limit() {
        Ok(n) => tracing::debug!(open_file_limit = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let home = a.home.home();
    let catalog = Arc::new(RegistryCatalog::new(home.clone()));
    let args = a.serve;
    let config = args.to_config(catalog, home.root())?;
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
        let recorded = record_endpoint(&home, &config, listener.local_addr()?);
        let served = serve::run(config, listener, shutdown_signal()).await;
        if let Some((stores, name, url)) = recorded {
            if let Err(e) = stores.metadata.endpoint_stopped(&name, &url) {
                tracing::warn!(error = %e, "cannot record that the endpoint stopped");
            }
        }
        served?;
        Ok(())
    })
}

/// With a home (its `sentio.db` exists), records the endpoint's name, address and folders
/// there so `sentio console` finds it. Worker endpoints are not recorded.
fn record_endpoint(
    home: &pipeline::Home,
    c: &serve::ServeConfig,
    addr: std::net::SocketAddr,
) -> Option<(pipeline::Stores, String, String)> {
    if c.worker || !home.db_path().is_file() {
        return None;
    }
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = format!("http://{}", std::net::SocketAddr::new(ip, addr.port()));
    let absolute = |p: std::path::PathBuf| std::path::absolute(&p).unwrap_or(p);
    let record = pipeline::store::EndpointRecord {
        name: c.endpoint_name.clone(),
        url: url.clone(),
        pid: std::process::id(),
        started_at: pipeline::store::now(),
        stopped_at: None,
        management: c.admin_token.is_some(),
        capture_dir: c
            .capture
            .as_ref()
            .map(|x| absolute(x.dir.join(&c.endpoint_name))),
        state_dir: c.state_dir.clone().map(absolute),
        monitor_dir: c.monitor.as_ref().map(|m| absolute(m.job.out_dir.clone())),
    };
    let stores = home
        .open_stores()
        .and_then(|s| s.metadata.record_endpoint(&record).map(|_| s));
    match stores {
        Ok(s) => Some((s, record.name, url)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the endpoint in the home");
            None
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
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
