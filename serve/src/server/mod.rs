//! The accept loop and the lifecycle: accept connections at once (so /ping answers 503
//! while models load), load and warm every variant, turn ready. Connections are capped
//! ([`admission`]) and timed ([`connection`]).
//!
//! Shutdown (the same for a front proxy, a `--worker` and a library user): when the
//! shutdown future completes, `/ping` turns 503 at once and every response carries
//! `Connection: close`; the server keeps accepting and serving for the grace period
//! (`Limits::shutdown_grace`, long enough for a load balancer to see the 503), then
//! closes the listener, closes idle connections, lets in-flight requests finish within
//! the drain time, writes what capture holds, and returns.
mod admission;
mod connection;

use crate::batcher::TokenizerPool;
use crate::capture::Capture;
use crate::config::ServeConfig;
use crate::endpoint::{Endpoint, Phase};
use crate::error::ServeError;
use crate::feedback::Feedback;
use crate::middleware::drain::Draining;
use crate::middleware::stack;
use crate::routes::{App, Router};
use crate::shadow::Shadow;
use crate::variant::{LoadContext, VariantSource};
use admission::Admission;
use connection::{Activity, IoTimeouts, TimedIo, Track};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Jobs waiting for the tokenizer threads, at most.
const TOKENIZER_QUEUE: usize = 4096;
/// How long shutdown waits for the capture writer to write what it holds.
const CAPTURE_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `config` on `listener` until `shutdown` completes, then drains and returns.
/// Returns an error if the configuration is invalid or a variant fails to load.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future,
) -> Result<(), ServeError> {
    config.validate()?;
    let started = Instant::now();
    crate::telemetry::prometheus();
    let ctx = LoadContext {
        device: config.device,
        batch: config.batch.clone(),
        limits: config.limits.clone(),
        pool: TokenizerPool::new(config.tokenizer_threads, TOKENIZER_QUEUE),
        catalog: config.catalog.clone(),
    };
    let name = &config.endpoint_name;
    let capture = match &config.capture {
        Some(c) => Some(Capture::start(c.clone(), name)?),
        None => None,
    };
    let app = Arc::new(App {
        endpoint: Endpoint::new(name.clone(), ctx),
        limits: config.limits.clone(),
        admin_token: config.admin_token.clone(),
        worker: config.worker,
        transform: config.transform_jobs.clone(),
        routing: config.routing.clone(),
        capture,
        feedback: config
            .state_dir
            .as_deref()
            .map(|d| Feedback::new(d, name, config.feedback_rate)),
        shadow: config.shadow.clone().map(|s| Arc::new(Shadow::new(s))),
        state_dir: config.state_dir.clone(),
        reports: config.state_dir.as_deref().map(|d| {
            let capture = config.capture.as_ref().map(|c| c.dir.join(name));
            crate::reports::Reports::new(d, capture.unwrap_or_default(), name)
        }),
        feedback_token: config.feedback_token.clone(),
        read_token: config.read_token.clone(),
    });
    app.endpoint.set_phase(Phase::Starting);
    let draining = Draining::default();
    let service = stack::build(Router::new(app.clone()), &config.limits, draining.clone());
    let addr = listener.local_addr()?;
    let admission = Admission::new(
        config.limits.connection_cap(),
        config.limits.retry_after_secs,
    );
    let timeouts = IoTimeouts::from(&config.limits);
    warn_about_exposure(&config, addr);
    tracing::info!(%addr, endpoint = %config.endpoint_name, variants = config.variants.len(), worker = config.worker, max_connections = admission.cap(), "listening; loading models");

    let mut loading = tokio::spawn(load_variants(app.clone(), config.clone()));
    let monitor = config.monitor.clone().map(|m| {
        let served = Arc::new(crate::served::AppHandle(app.clone()));
        crate::schedule::spawn(m, served)
    });
    let mut loaded = false;
    let mut fatal = None;
    let graceful = GracefulShutdown::new();
    let mut grace_ends: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let grace = async {
            match grace_ends {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let Ok((stream, slot)) = admission.admit(stream) else { continue };
                    let _ = stream.set_nodelay(true);
                    let activity = Arc::new(Activity::default());
                    let svc = TowerToHyperService::new(Track {
                        inner: service.clone(),
                        activity: activity.clone(),
                    });
                    let io = TimedIo::new(stream, activity, timeouts);
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(io), svc);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            done = &mut loading, if !loaded => {
                loaded = true;
                match done {
                    Ok(Ok(())) => {
                        if grace_ends.is_none() {
                            app.endpoint.set_phase(Phase::Ready);
                            tracing::info!(startup_seconds = started.elapsed().as_secs_f64(), %addr, "ready");
                        }
                    }
                    Ok(Err(e)) => { fatal = Some(e); break; }
                    Err(e) => { fatal = Some(ServeError::Internal(format!("loading panicked: {e}"))); break; }
                }
            },
            _ = &mut shutdown, if grace_ends.is_none() => {
                app.endpoint.set_phase(Phase::Draining);
                draining.start();
                let grace = config.limits.shutdown_grace;
                if !loaded || grace.is_zero() {
                    break;
                }
                tracing::info!(
                    grace_seconds = grace.as_secs_f64(),
                    connections = admission.open(),
                    "shutting down: /ping answers 503; serving with Connection: close for the grace period"
                );
                grace_ends = Some(tokio::time::Instant::now() + grace);
            },
            _ = grace => break,
        }
    }

    app.endpoint.set_phase(Phase::Draining);
    draining.start();
    drop(listener);
    if let Some(m) = monitor {
        m.abort();
    }
    if !loaded {
        loading.abort();
    }
    tracing::info!(
        connections = graceful.count(),
        drain_seconds = config.limits.drain_timeout.as_secs_f64(),
        "no new connections; closing idle ones and draining in-flight requests"
    );
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("drained"),
        _ = tokio::time::sleep(config.limits.drain_timeout) => {
            tracing::warn!("drain time exceeded; closing the remaining connections");
        }
    }
    if let Some(c) = app.capture.clone() {
        // Records still in memory reach their files before the process ends.
        let closed = tokio::task::spawn_blocking(move || {
            let done = c.close(CAPTURE_CLOSE_TIMEOUT);
            (done, c.counts())
        })
        .await;
        match closed {
            Ok((true, counts)) => tracing::info!(?counts, "capture files written and closed"),
            Ok((false, counts)) => {
                tracing::warn!(
                    ?counts,
                    "the capture writer did not finish in time; records may be lost"
                )
            }
            Err(e) => tracing::warn!(error = %e, "closing the capture writer failed"),
        }
    }
    match fatal {
        Some(e) => {
            tracing::error!(error = %e, "could not start");
            Err(e)
        }
        None => Ok(()),
    }
}

/// Warns when the management API listens beyond this machine over plain HTTP (the token
/// would cross the network in clear).
fn warn_about_exposure(config: &ServeConfig, addr: SocketAddr) {
    if config.admin_token.is_some() && !config.worker && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the management API is enabled on a non-loopback address over plain HTTP: its \
             bearer token crosses the network in clear; serve it behind a TLS-terminating \
             proxy, or listen on 127.0.0.1"
        );
    }
}

async fn load_variants(app: Arc<App>, config: ServeConfig) -> Result<(), ServeError> {
    for v in &config.variants {
        app.endpoint
            .add_variant(&v.name, &v.source, v.weight, config.force)
            .await?;
    }
    if let (Some(shadow), Some(spec)) = (&app.shadow, &config.shadow) {
        let source = VariantSource::Model(spec.model.clone());
        let ctx = app.endpoint.context();
        let d = crate::variant::Deployed::load(&spec.name, &source, config.force, ctx).await?;
        shadow.set_model(Arc::new(d));
    }
    Ok(())
}
