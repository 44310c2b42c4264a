//! The command line: [`LoadtestArgs`] (also mounted as `sentio loadtest`)
//! and [`run_cli`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::config::{
    Bounds, ClientKind, Config, ContentType, Mode, Order, PayloadConfig, PayloadSource, RampConfig,
    RequestConfig, StickyKeys,
};
use crate::duration::parse_duration;
use crate::error::Error;
use crate::secret::Secret;
use crate::stop::Stop;
use tracing::warn;

/// Load mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Constant arrival rate (`--rate`); latency from intended send times.
    Open,
    /// Fixed concurrency (`--connections`); latency from actual send times.
    Closed,
    /// Open-loop steps searching the highest rate holding `--p99-objective`.
    Ramp,
}

/// Payload file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PayloadFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Generate HTTP load against an endpoint and report latency percentiles
/// (overall and per invoked variant), status codes, errors and rates.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadtestArgs {
    /// Target URL, http:// only (no TLS), e.g. http://127.0.0.1:8080/invocations.
    pub url: String,

    /// Load mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Open)]
    pub mode: ModeArg,

    /// Open-loop arrival rate, requests per second.
    #[arg(short, long, default_value_t = 100.0)]
    pub rate: f64,

    /// Keep-alive connections (closed loop: the concurrency). In open loop,
    /// use at least rate × latency.
    #[arg(short, long, default_value_t = 16)]
    pub connections: usize,

    /// How long to send (e.g. 30s, 500ms, 2m; a bare number is seconds).
    #[arg(short, long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many requests (with --duration: whichever comes first).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,

    /// Per-request timeout (connect + request + response body).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Worker threads of the generator's runtime (default: all CPUs).
    #[arg(long)]
    pub threads: Option<usize>,

    /// HTTP/1.1 client: lean (pre-serialised requests, httparse) or hyper.
    #[arg(long, value_enum, default_value_t = ClientKind::Lean)]
    pub client: ClientKind,

    /// Review texts from this CSV or jsonlines file (default: built-in reviews).
    #[arg(long)]
    pub payload: Option<PathBuf>,

    /// Payload file format (default: from the extension; .jsonl/.json → jsonl).
    #[arg(long, value_enum)]
    pub payload_format: Option<PayloadFormat>,

    /// CSV column holding the text.
    #[arg(long, default_value = crate::config::DEFAULT_CSV_COLUMN)]
    pub column: String,

    /// Jsonlines field holding the text.
    #[arg(long, default_value = crate::config::DEFAULT_JSON_FIELD)]
    pub field: String,

    /// Order in which records (and sticky keys) are used.
    #[arg(long, value_enum, default_value_t = Order::RoundRobin)]
    pub order: Order,

    /// Seed for --order random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Records per request body (more than 1: multi-record bodies).
    #[arg(long, default_value_t = 1)]
    pub records_per_request: usize,

    /// Body encoding: json ({"instances":[…]}), jsonlines (one JSON string
    /// per line) or csv (one quoted text per line).
    #[arg(long, value_enum, default_value_t = ContentType::Json)]
    pub content_type: ContentType,

    /// HTTP method (GET and HEAD send no body).
    #[arg(long, default_value = "POST")]
    pub method: String,

    /// Ask for this production variant (X-Amzn-SageMaker-Target-Variant).
    #[arg(long)]
    pub target_variant: Option<String>,

    /// Sticky sessions for A/B tests: send --sticky-header with one of this
    /// many keys (0: off).
    #[arg(long, default_value_t = 0)]
    pub sticky_keys: usize,

    /// Header carrying the sticky session key.
    #[arg(long, default_value = crate::config::DEFAULT_STICKY_HEADER)]
    pub sticky_header: String,

    /// Bearer token sent as Authorization: Bearer <token>.
    #[arg(long, env = "LOADTEST_BEARER_TOKEN", hide_env_values = true)]
    pub bearer_token: Option<Secret>,

    /// Extra request header "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Ramp: rate of the first step, requests per second.
    #[arg(long, default_value_t = 100.0)]
    pub ramp_start: f64,

    /// Ramp: rate added after each passing step.
    #[arg(long, default_value_t = 100.0)]
    pub ramp_step: f64,

    /// Ramp: highest rate tried.
    #[arg(long, default_value_t = 100_000.0)]
    pub ramp_max: f64,

    /// Ramp: length of each step.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub ramp_step_duration: Duration,

    /// Ramp: bisection steps between the last pass and the first failure.
    #[arg(long, default_value_t = 2)]
    pub ramp_refine: u32,

    /// Ramp: a step passes when its p99 latency is at most this.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub p99_objective: Duration,

    /// Ramp: ... and at most this fraction of requests failed or got non-2xx.
    #[arg(long, default_value_t = 0.01)]
    pub max_error_rate: f64,

    /// Write the JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write the per-second time series (CSV) here.
    #[arg(long, value_name = "PATH")]
    pub timeseries: Option<PathBuf>,

    /// Write an SVG plot of latency over time here.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
}

impl LoadtestArgs {
    /// The typed configuration these arguments describe.
    pub fn to_config(&self) -> Result<Config, Error> {
        let mode = match self.mode {
            ModeArg::Open => Mode::OpenLoop { rate: self.rate },
            ModeArg::Closed => Mode::ClosedLoop,
            ModeArg::Ramp => Mode::Ramp(RampConfig {
                start_rate: self.ramp_start,
                step: self.ramp_step,
                max_rate: self.ramp_max,
                step_duration: self.ramp_step_duration,
                p99_objective: self.p99_objective,
                max_error_rate: self.max_error_rate,
                refine_steps: self.ramp_refine,
            }),
        };
        let source = match &self.payload {
            None => PayloadSource::Builtin,
            Some(path) => {
                let format = self.payload_format.unwrap_or_else(|| {
                    match path.extension().and_then(|e| e.to_str()) {
                        Some("jsonl" | "json" | "ndjson") => PayloadFormat::Jsonl,
                        _ => PayloadFormat::Csv,
                    }
                });
                match format {
                    PayloadFormat::Csv => PayloadSource::Csv {
                        path: path.clone(),
                        column: self.column.clone(),
                    },
                    PayloadFormat::Jsonl => PayloadSource::JsonLines {
                        path: path.clone(),
                        field: self.field.clone(),
                    },
                }
            }
        };
        let headers = self
            .headers
            .iter()
            .map(|h| {
                h.split_once(':')
                    .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| Error::InvalidHeader {
                        name: h.clone(),
                        reason: "expected \"Name: value\"".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config = Config {
            url: self.url.clone(),
            mode,
            connections: self.connections,
            bounds: Bounds {
                duration: self.duration,
                max_requests: self.requests,
            },
            timeout: self.timeout,
            request: RequestConfig {
                method: self.method.clone(),
                target_variant: self.target_variant.clone(),
                sticky: (self.sticky_keys > 0).then(|| StickyKeys {
                    header: self.sticky_header.clone(),
                    keys: self.sticky_keys,
                }),
                bearer_token: self.bearer_token.clone(),
                headers,
            },
            payload: PayloadConfig {
                source,
                records_per_request: self.records_per_request,
                order: self.order,
                seed: self.seed,
                content_type: self.content_type,
            },
            client: self.client,
        };
        config.validate()?;
        crate::target::parse_url(&config.url)?;
        if self.threads == Some(0) {
            return Err(Error::InvalidConfig("--threads must be at least 1".into()));
        }
        Ok(config)
    }
}

/// Runs a load test from command-line arguments: builds its own tokio
/// runtime, prints the table to stdout and writes the requested files.
///
/// Returns an error (so the process exits non-zero) for bad input, and when
/// not a single response was received.
pub fn run_cli(args: LoadtestArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(Error::Runtime)?;
    let stop = Stop::new();
    let report = runtime.block_on(async {
        let on_ctrl_c = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                warn!("interrupted: finishing in-flight requests, then reporting");
                on_ctrl_c.trigger();
            }
        });
        crate::run_with_stop(&config, stop).await
    })?;
    print!("{}", crate::table::render_table(&report));
    if let Some(path) = &args.json {
        crate::output::write_json(&report, path)?;
    }
    if let Some(path) = &args.timeseries {
        crate::output::write_timeseries_csv(&report, path)?;
    }
    if let Some(path) = &args.svg {
        crate::output::write_svg(&report, path)?;
    }
    if report.responses() == 0 {
        return Err(anyhow::anyhow!(
            "no response received from {}; is the target up?",
            config.url
        ))
        .context("load test failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadtestArgs,
    }

    fn parse(argv: &[&str]) -> LoadtestArgs {
        Cli::try_parse_from(std::iter::once("loadtest").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn builds_a_config() {
        let args = parse(&[
            "http://127.0.0.1:9/invocations",
            "-r",
            "250",
            "-d",
            "2s",
            "--payload",
            "reviews.jsonl",
            "--sticky-keys",
            "4",
            "-H",
            "X-A: b",
            "--bearer-token",
            "s3cret",
        ]);
        let c = args.to_config().unwrap();
        assert_eq!(c.mode, Mode::OpenLoop { rate: 250.0 });
        assert_eq!(c.bounds.duration, Some(Duration::from_secs(2)));
        assert!(matches!(c.payload.source, PayloadSource::JsonLines { .. }));
        assert_eq!(c.request.sticky.as_ref().unwrap().keys, 4);
        assert_eq!(c.request.headers, vec![("X-A".into(), "b".into())]);
        assert!(!format!("{args:?}").contains("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn bad_input_is_an_error() {
        let cases: &[&[&str]] = &[
            &["http://127.0.0.1:9/", "-r", "0", "-d", "1s"],
            &["http://127.0.0.1:9/"],
            &["not a url", "-d", "1s"],
            &["https://127.0.0.1:9/", "-d", "1s"],
            &["http://127.0.0.1:9/", "-d", "1s", "-H", "no colon"],
            &["http://127.0.0.1:9/", "-d", "1s", "--threads", "0"],
        ];
        for argv in cases {
            assert!(parse(argv).to_config().is_err(), "{argv:?} should fail");
        }
    }
}
