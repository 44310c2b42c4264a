//! `loadtest`: an open-loop, coordinated-omission-free HTTP load generator.
//!
//! Three modes ([`Mode`]): open loop at a constant arrival rate, with
//! latency measured from each request's *intended* send time (as wrk2
//! does, so server stalls are not hidden); closed loop at a fixed
//! concurrency; and a ramp that searches the highest rate holding a p99
//! objective. HTTP/1.1 over keep-alive connections, `http://` targets only:
//! a lean client by default (pre-serialised requests, responses parsed in
//! place with httparse), hyper's `client::conn::http1` with `--client hyper`.
//!
//! Give [`run`] a typed [`Config`]; it returns a [`Report`] or an
//! [`Error`]. The command line (`sentio loadtest`) lives in the root
//! binary: it parses arguments into a `Config`, prints [`render_table`]
//! and live [`progress_line`]s, and writes the files of [`write_json`],
//! [`write_timeseries_csv`] and [`write_svg`].

#![forbid(unsafe_code)]

mod body;
mod config;
mod connection;
mod engine;
mod error;
mod histogram;
mod output;
mod payload;
mod pick;
mod progress;
mod ramp;
mod recorder;
mod report;
mod request;
mod series;
mod stop;
mod svg;
mod table;
mod target;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use config::{
    Bounds, ClientKind, Config, ContentType, Mode, Order, PayloadConfig, PayloadSource, RampConfig,
    RequestConfig, StickyKeys, DEFAULT_CSV_COLUMN, DEFAULT_JSON_FIELD, DEFAULT_STICKY_HEADER,
};
pub use connection::INVOKED_VARIANT_HEADER;
pub use error::Error;
pub use histogram::LatencyStats;
pub use output::{render_svg, write_json, write_svg, write_timeseries_csv};
pub use progress::Progress;
pub use report::{
    ByteCounts, ErrorCounts, RampReport, RampStep, Report, RequestCounts, RunReport, VariantReport,
    SCHEMA_VERSION,
};
pub use request::TARGET_VARIANT_HEADER;
pub use secrecy::{ExposeSecret, SecretString};
pub use series::SecondStats;
pub use stop::Stop;
pub use table::{progress_line, render_table};

use crate::body::Bodies;
use crate::engine::{execute, Arrival, Plan, Shared};
use crate::request::RequestTemplate;
use crate::target::Target;

/// What a caller can attach to a run besides its [`Config`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// When triggered, no new request is sent; in-flight ones finish and
    /// the run reports what it measured (`interrupted: true`).
    pub stop: Stop,
    /// Called with each second's stats while the run goes.
    pub progress: Option<Progress>,
}

/// Runs the load test described by `config` and returns its report.
///
/// Bad configuration (see [`Config::validate`]), an unreadable payload or an
/// unresolvable host is an [`Error`]; failed requests are counted in the
/// report instead.
pub async fn run(config: &Config) -> Result<Report, Error> {
    run_with(config, RunOptions::default()).await
}

/// Like [`run`], but stops sending when `stop` is triggered (in-flight
/// requests still finish) and reports what was measured until then.
pub async fn run_with_stop(config: &Config, stop: Stop) -> Result<Report, Error> {
    run_with(
        config,
        RunOptions {
            stop,
            progress: None,
        },
    )
    .await
}

/// Like [`run`], with a stop switch and live progress.
#[tracing::instrument(skip(config, options), fields(url = %config.url))]
pub async fn run_with(config: &Config, options: RunOptions) -> Result<Report, Error> {
    let RunOptions { stop, progress } = options;
    config.validate()?;
    let target = Arc::new(Target::resolve(&config.url).await?);
    let payload = config.payload.clone();
    let records = tokio::task::spawn_blocking(move || payload::load(&payload.source))
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
    let p = &config.payload;
    let bodies = Bodies::new(
        &records.texts,
        p.content_type,
        p.records_per_request,
        p.order,
        p.seed,
    );
    let template = RequestTemplate::new(
        &config.request,
        &target,
        bodies,
        p.content_type.mime(),
        p.order,
        p.seed,
    )?;
    let shared = Arc::new(Shared {
        target,
        template,
        timeout: config.timeout,
        client: config.client,
        stop: stop.clone(),
        progress: progress.clone(),
    });
    let started_at_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);

    let (mode, run, ramp, series) = match &config.mode {
        Mode::OpenLoop { rate } => {
            let plan = Plan {
                arrival: Arrival::Open { rate: *rate },
                connections: config.connections,
                bounds: config.bounds.clone(),
            };
            let outcome = execute(shared, &plan, None).await?;
            let run = RunReport::from_outcome(&outcome, Some(*rate));
            ("open_loop", Some(run), None, outcome.series)
        }
        Mode::ClosedLoop => {
            let plan = Plan {
                arrival: Arrival::Closed,
                connections: config.connections,
                bounds: config.bounds.clone(),
            };
            let outcome = execute(shared, &plan, None).await?;
            let run = RunReport::from_outcome(&outcome, None);
            ("closed_loop", Some(run), None, outcome.series)
        }
        Mode::Ramp(ramp_config) => {
            let outcome = ramp::search(shared, ramp_config, config.connections).await?;
            ("ramp", outcome.best, Some(outcome.report), outcome.series)
        }
    };
    progress::report_rest(&series, progress.as_ref());
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        tool: "loadtest".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        mode: mode.into(),
        target: config.url.clone(),
        connections: config.connections,
        started_at_unix_ms,
        interrupted: stop.is_triggered(),
        run,
        ramp,
        timeseries: series.snapshot(),
    })
}
