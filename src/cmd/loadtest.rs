//! `sentio loadtest`: the load generator's command line. Arguments become a
//! typed [`loadtest::Config`]; this module runs it on its own tokio runtime,
//! prints live progress and the final table, and writes the report files.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use loadtest::{
    Bounds, ClientKind, Config, ContentType, Mode, Order, PayloadConfig, PayloadSource, Progress,
    RampConfig, RequestConfig, RunOptions, SecretString, StickyKeys, Stop,
};
use tracing::warn;

/// Load mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Constant arrival rate (`--rate`); latency from intended send times.
    Open,
    /// Fixed concurrency (`--connections`); latency from actual send times.
    Closed,
    /// Open-loop steps searching the highest rate holding `--p99-objective`.
    Ramp,
}

/// Payload file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayloadFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// HTTP/1.1 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientArg {
    /// Pre-serialised requests, one write and (usually) one read per
    /// request, responses parsed in place with httparse.
    Lean,
    /// hyper's `client::conn::http1` (a cross-check; slower per request).
    Hyper,
}

/// Order in which records are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// In file order, wrapping around.
    RoundRobin,
    /// Uniformly at random, reproducible from --seed.
    Random,
}

/// Request body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContentTypeArg {
    /// application/json: {"instances": ["…", …]}.
    Json,
    /// application/jsonlines: one JSON string per line.
    Jsonlines,
    /// text/csv: one quoted text per line.
    Csv,
}

/// Generate HTTP load against an endpoint and report latency percentiles
/// (overall and per invoked variant), status codes, errors and rates.
#[derive(Debug, Clone, Args)]
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

    /// How long to send (e.g. 30s, 500ms, 2m, 1h; a bare number is seconds).
    /// Open and closed loop need --duration, --requests or both.
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
    #[arg(long, value_enum, default_value_t = ClientArg::Lean)]
    pub client: ClientArg,

    /// Review texts from this CSV or jsonlines file (default: built-in reviews).
    #[arg(long, value_name = "PATH")]
    pub payload: Option<PathBuf>,

    /// Payload file format (default: from the extension; .jsonl/.json/.ndjson → jsonl).
    #[arg(long, value_enum)]
    pub payload_format: Option<PayloadFormat>,

    /// CSV column holding the text.
    #[arg(long, default_value = loadtest::DEFAULT_CSV_COLUMN)]
    pub column: String,

    /// Jsonlines field holding the text.
    #[arg(long, default_value = loadtest::DEFAULT_JSON_FIELD)]
    pub field: String,

    /// Order in which records (and sticky keys) are used.
    #[arg(long, value_enum, default_value_t = OrderArg::RoundRobin)]
    pub order: OrderArg,

    /// Seed for --order random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Records per request body (more than 1: multi-record bodies).
    #[arg(long, default_value_t = 1)]
    pub records_per_request: usize,

    /// Body encoding: json ({"instances":[…]}), jsonlines (one JSON string
    /// per line) or csv (one quoted text per line).
    #[arg(long, value_enum, default_value_t = ContentTypeArg::Json)]
    pub content_type: ContentTypeArg,

    /// HTTP method (GET and HEAD send no body).
    #[arg(long, default_value = "POST")]
    pub method: String,

    /// Ask for this production variant (X-Amzn-SageMaker-Target-Variant;
    /// default: none, the endpoint routes).
    #[arg(long)]
    pub target_variant: Option<String>,

    /// Sticky sessions for A/B tests: send --sticky-header with one of this
    /// many keys (0: off).
    #[arg(long, default_value_t = 0)]
    pub sticky_keys: usize,

    /// Header carrying the sticky session key.
    #[arg(long, default_value = loadtest::DEFAULT_STICKY_HEADER)]
    pub sticky_header: String,

    /// Bearer token sent as Authorization: Bearer <token> (default: none).
    #[arg(long, env = "LOADTEST_BEARER_TOKEN", hide_env_values = true)]
    pub bearer_token: Option<SecretString>,

    /// Extra request header "Name: value" (repeatable; default: none).
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

    /// Ramp: a step passes when its p99 latency is at most this ...
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub p99_objective: Duration,

    /// Ramp: ... at most this fraction of requests failed or got non-2xx ...
    #[arg(long, default_value_t = 0.01)]
    pub max_error_rate: f64,

    /// Ramp: ... and it achieved at least this fraction of its intended rate.
    #[arg(long, default_value_t = 0.95)]
    pub ramp_min_achieved: f64,

    /// Print no live progress line (one per second on stderr).
    #[arg(short, long)]
    pub quiet: bool,

    /// Print live progress lines even when stderr is not a terminal
    /// (default: only on a terminal).
    #[arg(long, conflicts_with = "quiet")]
    pub progress: bool,

    /// Write the JSON report here (default: none).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write the per-second time series (CSV) here (default: none).
    #[arg(long, value_name = "PATH")]
    pub timeseries: Option<PathBuf>,

    /// Write an SVG plot of throughput, errors and latency over time here
    /// (default: none).
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
}

/// Parses `30s`, `500ms`, `2m`, `1h`, `1.5s`, `250us` (humantime's
/// syntax), or a bare number of seconds (`1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = |reason: String| format!("invalid duration {text:?}: {reason}");
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|e| invalid(e.to_string()));
    }
    humantime::parse_duration(text)
        .map_err(|e| invalid(format!("{e} (examples: 30s, 500ms, 2m, 1.5)")))
}

fn parse_header(header: &str) -> anyhow::Result<(String, String)> {
    header
        .split_once(':')
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .with_context(|| format!("invalid header {header:?}: expected \"Name: value\""))
}

impl LoadtestArgs {
    /// The typed configuration these arguments describe (checked).
    pub fn to_config(&self) -> anyhow::Result<Config> {
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
                min_achieved_share: self.ramp_min_achieved,
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
            .map(|h| parse_header(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
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
                order: match self.order {
                    OrderArg::RoundRobin => Order::RoundRobin,
                    OrderArg::Random => Order::Random,
                },
                seed: self.seed,
                content_type: match self.content_type {
                    ContentTypeArg::Json => ContentType::Json,
                    ContentTypeArg::Jsonlines => ContentType::Jsonlines,
                    ContentTypeArg::Csv => ContentType::Csv,
                },
            },
            client: match self.client {
                ClientArg::Lean => ClientKind::Lean,
                ClientArg::Hyper => ClientKind::Hyper,
            },
        };
        config.validate()?;
        if self.threads == Some(0) {
            anyhow::bail!("--threads must be at least 1");
        }
        Ok(config)
    }

    /// Whether live progress lines are printed.
    fn shows_progress(&self, stderr_is_terminal: bool) -> bool {
        !self.quiet && (self.progress || stderr_is_terminal)
    }
}

/// Runs a load test: its own tokio runtime, Ctrl-C stops sending (in-flight
/// requests finish and the report is still printed and written), live
/// progress on stderr, the table on stdout, then the requested files.
///
/// An error (exit status 1) for bad input, and when not a single response
/// was received.
pub fn run(args: LoadtestArgs) -> anyhow::Result<()> {
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
    .context("cannot start the async runtime")?;
    let options = RunOptions {
        stop: Stop::new(),
        progress: args
            .shows_progress(std::io::stderr().is_terminal())
            .then(|| Progress::new(|s| eprintln!("{}", loadtest::progress_line(s)))),
    };
    let report = runtime.block_on(async {
        let on_ctrl_c = options.stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                warn!("interrupted: finishing in-flight requests, then reporting");
                on_ctrl_c.trigger();
            }
        });
        loadtest::run_with(&config, options).await
    })?;
    print!("{}", loadtest::render_table(&report));
    if let Some(path) = &args.json {
        loadtest::write_json(&report, path)?;
    }
    if let Some(path) = &args.timeseries {
        loadtest::write_timeseries_csv(&report, path)?;
    }
    if let Some(path) = &args.svg {
        loadtest::write_svg(&report, path)?;
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
    use clap::{ArgAction, CommandFactory, Parser};
    use loadtest::ExposeSecret;

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
            "--order",
            "random",
            "--content-type",
            "csv",
            "--client",
            "hyper",
        ]);
        let c = args.to_config().unwrap();
        assert_eq!(c.mode, Mode::OpenLoop { rate: 250.0 });
        assert_eq!(c.bounds.duration, Some(Duration::from_secs(2)));
        assert!(matches!(c.payload.source, PayloadSource::JsonLines { .. }));
        assert_eq!(c.request.sticky.as_ref().unwrap().keys, 4);
        assert_eq!(c.request.headers, vec![("X-A".into(), "b".into())]);
        assert_eq!(c.payload.order, Order::Random);
        assert_eq!(c.payload.content_type, ContentType::Csv);
        assert_eq!(c.client, ClientKind::Hyper);
        let token = c.request.bearer_token.as_ref().unwrap();
        assert_eq!(token.expose_secret(), "s3cret");
        assert!(!format!("{args:?}").contains("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn ramp_arguments_become_a_ramp_config() {
        let args = parse(&[
            "http://127.0.0.1:9/",
            "--mode",
            "ramp",
            "--ramp-start",
            "200",
            "--ramp-step-duration",
            "2m",
            "--p99-objective",
            "50ms",
            "--ramp-min-achieved",
            "0.9",
        ]);
        let Mode::Ramp(ramp) = args.to_config().unwrap().mode else {
            panic!("not a ramp");
        };
        assert_eq!(ramp.start_rate, 200.0);
        assert_eq!(ramp.step_duration, Duration::from_secs(120));
        assert_eq!(ramp.p99_objective, Duration::from_millis(50));
        assert_eq!(ramp.min_achieved_share, 0.9);
        assert_eq!(ramp.refine_steps, 2);
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
            &[
                "http://127.0.0.1:9/",
                "--mode",
                "ramp",
                "--ramp-min-achieved",
                "2",
            ],
        ];
        for argv in cases {
            assert!(parse(argv).to_config().is_err(), "{argv:?} should fail");
        }
        let err = parse(&["http://127.0.0.1:9/", "-d", "1s", "-H", "no colon"])
            .to_config()
            .unwrap_err();
        assert!(err.to_string().contains("\"no colon\""), "{err}");
    }

    #[test]
    fn durations_accept_units_and_bare_seconds() {
        let ok = |text: &str, expected: Duration| {
            assert_eq!(parse_duration(text), Ok(expected), "{text:?}");
        };
        ok("30s", Duration::from_secs(30));
        ok("500ms", Duration::from_millis(500));
        ok("2m", Duration::from_secs(120));
        ok("2min", Duration::from_secs(120));
        ok("1h", Duration::from_secs(3600));
        ok("1.5", Duration::from_millis(1500));
        ok("1.5s", Duration::from_millis(1500));
        ok("250us", Duration::from_micros(250));
        ok("250µs", Duration::from_micros(250));
        ok(" 10s ", Duration::from_secs(10));
        ok("3", Duration::from_secs(3));
        for bad in ["", "fast", "10 parsecs", "-1s", "-1", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn progress_is_off_with_quiet_and_on_a_terminal_or_when_asked() {
        let url = "http://127.0.0.1:9/";
        assert!(parse(&[url]).shows_progress(true));
        assert!(!parse(&[url]).shows_progress(false));
        assert!(parse(&[url, "--progress"]).shows_progress(false));
        assert!(!parse(&[url, "--quiet"]).shows_progress(true));
        assert!(!parse(&[url, "-q"]).shows_progress(true));
        let both = ["loadtest", url, "--quiet", "--progress"];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn every_option_has_help_and_shows_its_default() {
        // Options that are unset unless given (their help says what then).
        let optional = [
            "duration",
            "requests",
            "threads",
            "payload",
            "payload_format",
            "target_variant",
            "bearer_token",
            "headers",
            "json",
            "timeseries",
            "svg",
        ];
        let command = Cli::command();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(!help.trim().is_empty(), "--{id} has no help text");
            let is_flag = matches!(arg.get_action(), ArgAction::SetTrue);
            if arg.is_positional() || is_flag {
                continue;
            }
            if optional.contains(&id) {
                assert!(
                    arg.get_default_values().is_empty(),
                    "--{id} is listed as optional but has a default"
                );
                continue;
            }
            assert!(
                !arg.get_default_values().is_empty(),
                "--{id} shows no default"
            );
        }
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("[default: 30s]"), "{help}");
        assert!(help.contains("[default: open]"), "{help}");
    }
}
