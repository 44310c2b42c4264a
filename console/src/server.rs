//! The accept loop: HTTP/1 connections served by [`crate::routes::dispatch`] until the
//! shutdown future completes, then in-flight requests are given a few seconds to finish.
use crate::app::App;
use crate::config::ConsoleConfig;
use crate::error::Result;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

const DRAIN: Duration = Duration::from_secs(5);

/// Serves the console for `config` on `listener` until `shutdown` completes. Fails at once
/// if the home's stores cannot be opened.
pub async fn run(
    config: ConsoleConfig,
    listener: TcpListener,
    shutdown: impl Future,
) -> Result<()> {
    let app = App::open(config)?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, actions = app.config.admin_token.is_some(), "console listening");
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let app = app.clone();
                    let svc = hyper::service::service_fn(move |req| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(crate::routes::dispatch(app, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("console: closing connections still open"),
    }
    Ok(())
}
