//! The accept loop and the lifecycle: accept connections at once (so /ping answers 503
//! while models load), load and warm every variant, turn ready; on shutdown turn /ping
//! unhealthy, stop accepting, let in-flight requests finish within the drain time.
use crate::batcher::TokenizerPool;
use crate::capture::Capture;
use crate::config::ServeConfig;
use crate::endpoint::{Endpoint, Phase};
use crate::error::ServeError;
use crate::feedback::Feedback;
use crate::middleware::stack;
use crate::routes::{App, Router};
use crate::shadow::Shadow;
use crate::variant::{LoadContext, VariantSource};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
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
        transform: crate::transform::TransformJobs::new(config.transform_roots.clone()),
        routing: config.routing.clone(),
        capture,
        feedback: config.state_dir.as_deref().map(|d| Feedback::new(d, name)),
        shadow: config.shadow.clone().map(|s| Arc::new(Shadow::new(s))),
        state_dir: config.state_dir.clone(),
    });
    app.endpoint.set_phase(Phase::Starting);
    let service = stack::build(Router::new(app.clone()), &config.limits);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, endpoint = %config.endpoint_name, variants = config.variants.len(), worker = config.worker, "listening; loading models");

    let mut loading = tokio::spawn(load_variants(app.clone(), config.clone()));
    let monitor = config.monitor.clone().map(crate::schedule::spawn);
    let mut loaded = false;
    let mut fatal = None;
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let svc = TowerToHyperService::new(service.clone());
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
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            done = &mut loading, if !loaded => {
                loaded = true;
                match done {
                    Ok(Ok(())) => {
                        app.endpoint.set_phase(Phase::Ready);
                        tracing::info!(startup_seconds = started.elapsed().as_secs_f64(), %addr, "ready");
                    }
                    Ok(Err(e)) => { fatal = Some(e); break; }
                    Err(e) => { fatal = Some(ServeError::Internal(format!("loading panicked: {e}"))); break; }
                }
            },
            _ = &mut shutdown => break,
        }
    }

    app.endpoint.set_phase(Phase::Draining);
    drop(listener);
    if let Some(m) = monitor {
        m.abort();
    }
    if !loaded {
        loading.abort();
    }
    let in_flight = graceful.count();
    tracing::info!(
        connections = in_flight,
        drain_seconds = config.limits.drain_timeout.as_secs_f64(),
        "shutting down: no new connections; draining"
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
