//! The flags of `sentio serve` and their conversion to a `serve::ServeConfig`.
use super::observe::{secret, ObserveArgs};
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serve::endpoint::routing::RoutingConfig;
use serve::{BatchConfig, Limits, ModelCatalog, ServeConfig, VariantSource, VariantSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default variant name when one model is served with `--model` (SageMaker's default).
pub const DEFAULT_VARIANT: &str = "AllTraffic";

/// Serve models over HTTP: the SageMaker contract (/ping, /invocations), a native /v1 API,
/// a management API and Prometheus /metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Model of the single variant "AllTraffic": an artifact directory or registry reference.
    #[arg(long, env = "SENTIO_MODEL")]
    pub model: Option<String>,
    /// A production variant as NAME=MODEL (repeatable; 1–10 variants in all).
    #[arg(long = "variant", env = "SENTIO_VARIANTS", value_delimiter = ',', value_parser = parse_pair)]
    pub variants: Vec<(String, String)>,
    /// A remote variant as NAME=URL, served by `sentio serve --worker` there (repeatable).
    #[arg(long = "upstream", env = "SENTIO_UPSTREAMS", value_delimiter = ',', value_parser = parse_pair)]
    pub upstreams: Vec<(String, String)>,
    /// A variant's traffic weight as NAME=WEIGHT (default 1; share = weight / sum).
    #[arg(long = "weight", env = "SENTIO_WEIGHTS", value_delimiter = ',', value_parser = parse_weight)]
    pub weights: Vec<(String, f64)>,
    /// Address to listen on: this machine only by default. A container, or a machine
    /// behind a load balancer, listens on all interfaces with 0.0.0.0 (the Dockerfile
    /// `sentio init` writes sets SENTIO_HOST=0.0.0.0).
    #[arg(long, env = "SENTIO_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (SageMaker: 8080).
    #[arg(long, env = "SENTIO_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Endpoint name, recorded in the deployment history.
    #[arg(long, env = "SENTIO_ENDPOINT_NAME", default_value = "sentio")]
    pub endpoint_name: String,
    /// Device: auto, cpu or cuda.
    #[arg(long, env = "SENTIO_DEVICE", default_value = "auto")]
    pub device: String,
    /// Worker mode: serve the one model for a front proxy; no management API.
    #[arg(long, env = "SENTIO_WORKER")]
    pub worker: bool,
    /// Deploy registry models that are not approved.
    #[arg(long)]
    pub force: bool,
    /// Bearer token of the management API (unset: management disabled). Set it in the
    /// environment or use --admin-token-file: on the command line every user of the
    /// machine can read it in the process list.
    #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true)]
    #[arg(value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// A file holding the management API's bearer token (surrounding whitespace ignored).
    #[arg(long, env = "SENTIO_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// A folder transform jobs (POST /transform-jobs) may read and write (repeatable).
    #[arg(
        long = "transform-root",
        env = "SENTIO_TRANSFORM_ROOTS",
        value_delimiter = ','
    )]
    pub transform_roots: Vec<std::path::PathBuf>,
    /// Most inputs in one forward pass.
    #[arg(long, env = "SENTIO_MAX_BATCH_SIZE", default_value_t = 64)]
    pub max_batch_size: usize,
    /// Most padded tokens (longest input × batch size) in one forward pass.
    #[arg(long, env = "SENTIO_MAX_BATCH_TOKENS", default_value_t = 16_384)]
    pub max_batch_tokens: usize,
    /// Microseconds the first input of a batch may wait for more (0: take what is queued).
    #[arg(long, env = "SENTIO_MAX_QUEUE_DELAY_US", default_value_t = 0)]
    pub max_queue_delay_us: u64,
    /// Inputs waiting per variant, at most; beyond it requests get 429.
    #[arg(long, env = "SENTIO_QUEUE_CAPACITY", default_value_t = 2048)]
    pub queue_capacity: usize,
    /// Requests being handled at once (bodies complete), at most; beyond it requests get
    /// 429 at once. A request whose body is still arriving does not count.
    #[arg(long, env = "SENTIO_MAX_CONCURRENCY", default_value_t = 512)]
    pub max_concurrency: usize,
    /// Most instances in one request (at most --queue-capacity).
    #[arg(long, env = "SENTIO_MAX_INSTANCES", default_value_t = 1000)]
    pub max_instances: usize,
    /// Request body limit in bytes.
    #[arg(long, env = "SENTIO_MAX_BODY_BYTES", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Per-request time limit in seconds, once the body is read (504 past it).
    #[arg(long, env = "SENTIO_REQUEST_TIMEOUT_SECS", default_value_t = 60.0)]
    pub request_timeout_secs: f64,
    /// Seconds the server keeps serving after SIGTERM, with /ping answering 503 and every
    /// response saying Connection: close, so a load balancer takes it out first.
    #[arg(long, env = "SENTIO_SHUTDOWN_GRACE_SECS", default_value_t = 5.0)]
    pub shutdown_grace_secs: f64,
    /// Seconds in-flight requests get to finish after the grace period (grace + drain stay
    /// under the 30 s SageMaker and Kubernetes wait before SIGKILL).
    #[arg(long, env = "SENTIO_DRAIN_TIMEOUT_SECS", default_value_t = 20.0)]
    pub drain_timeout_secs: f64,
    /// Seconds a request's headers may take to arrive (from the connection's opening, or
    /// from a later request's first byte); past it the connection is closed.
    #[arg(long, env = "SENTIO_HEADER_READ_TIMEOUT_SECS", default_value_t = 10.0)]
    pub header_read_timeout_secs: f64,
    /// Seconds a keep-alive connection may stay idle before it is closed.
    #[arg(long, env = "SENTIO_IDLE_TIMEOUT_SECS", default_value_t = 75.0)]
    pub idle_timeout_secs: f64,
    /// Seconds a request body may take to arrive in full (408 past it).
    #[arg(long, env = "SENTIO_BODY_READ_TIMEOUT_SECS", default_value_t = 30.0)]
    pub body_read_timeout_secs: f64,
    /// Slowest average rate, in bytes per second, a body may arrive at after its first
    /// 5 seconds (408 below it; 0: no minimum).
    #[arg(long, env = "SENTIO_MIN_BODY_RATE", default_value_t = 1024)]
    pub min_body_rate: u64,
    /// Bytes of request bodies held in memory at once over all connections (bodies are
    /// read in full before a request takes a slot); beyond it requests get 429.
    #[arg(long, env = "SENTIO_MAX_BUFFERED_BODY_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_buffered_body_bytes: usize,
    /// Open connections at most; beyond it a new connection is answered 429 and closed
    /// [default: 10,000, or what the open-file limit allows, less 128].
    #[arg(long, env = "SENTIO_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Threads tokenizing requests.
    #[arg(long, env = "SENTIO_TOKENIZER_THREADS", default_value_t = 1)]
    pub tokenizer_threads: usize,
    /// Threads of the async runtime (default: one per core).
    #[arg(long, env = "SENTIO_RUNTIME_THREADS")]
    pub runtime_threads: Option<usize>,
    /// Threads libtorch uses inside one forward pass.
    #[arg(long, env = "SENTIO_TORCH_THREADS", default_value_t = 1)]
    pub torch_threads: i32,
    /// Tests and benchmarks only: milliseconds the model thread sleeps after each batch, as
    /// a slower model would (bench/proxy_scaling.sh) [default: 0].
    #[arg(
        long,
        default_value_t = 0,
        value_name = "MS",
        hide_default_value = true
    )]
    pub bench_inject_latency_ms: u64,
    /// Data capture, feedback, experiments, shadow and the drift schedule.
    #[command(flatten)]
    pub observe: ObserveArgs,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn parse_weight(s: &str) -> Result<(String, f64), String> {
    let (k, v) = parse_pair(s)?;
    let w = v.parse::<f64>().map_err(|e| format!("weight {v:?}: {e}"))?;
    Ok((k, w))
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what} must be a non-negative number of seconds"))
}

impl ServeArgs {
    /// The typed configuration these arguments describe.
    pub fn to_config(
        &self,
        catalog: Arc<dyn ModelCatalog>,
        home: &std::path::Path,
    ) -> anyhow::Result<ServeConfig> {
        let observe = self.observe.to_config(&self.endpoint_name, home)?;
        let mut specs: Vec<VariantSpec> = Vec::new();
        if let Some(m) = &self.model {
            specs.push(spec(DEFAULT_VARIANT, VariantSource::Model(m.clone())));
        }
        for (name, m) in &self.variants {
            specs.push(spec(name, VariantSource::Model(m.clone())));
        }
        for (name, url) in &self.upstreams {
            specs.push(spec(name, VariantSource::Upstream(url.clone())));
        }
        for (name, w) in &self.weights {
            let v = specs
                .iter_mut()
                .find(|v| &v.name == name)
                .with_context(|| format!("--weight names an unknown variant {name:?}"))?;
            v.weight = *w;
        }
        let device: models::DeviceChoice = self.device.parse()?;
        let config = ServeConfig {
            endpoint_name: self.endpoint_name.clone(),
            variants: specs,
            batch: BatchConfig {
                max_batch_size: self.max_batch_size,
                max_batch_tokens: self.max_batch_tokens,
                max_queue_delay: Duration::from_micros(self.max_queue_delay_us),
                queue_capacity: self.queue_capacity,
                inject_latency: Duration::from_millis(self.bench_inject_latency_ms),
            },
            limits: Limits {
                max_body_bytes: self.max_body_bytes,
                max_concurrency: self.max_concurrency,
                max_instances: self.max_instances,
                request_timeout: secs(self.request_timeout_secs, "--request-timeout-secs")?,
                drain_timeout: secs(self.drain_timeout_secs, "--drain-timeout-secs")?,
                shutdown_grace: secs(self.shutdown_grace_secs, "--shutdown-grace-secs")?,
                header_read_timeout: secs(
                    self.header_read_timeout_secs,
                    "--header-read-timeout-secs",
                )?,
                idle_timeout: secs(self.idle_timeout_secs, "--idle-timeout-secs")?,
                body_read_timeout: secs(self.body_read_timeout_secs, "--body-read-timeout-secs")?,
                min_body_rate: self.min_body_rate,
                max_buffered_body_bytes: self.max_buffered_body_bytes,
                max_connections: self.max_connections,
                ..Limits::default()
            },
            device: device.resolve()?,
            admin_token: self.admin_token()?,
            worker: self.worker,
            force: self.force,
            tokenizer_threads: self.tokenizer_threads,
            catalog,
            transform_jobs: Some(std::sync::Arc::new(transform::Jobs::new(
                self.transform_roots.clone(),
            ))),
            routing: RoutingConfig {
                session_header: self.observe.session_header.to_ascii_lowercase(),
            },
            capture: observe.capture,
            state_dir: self.observe.state_dir.clone(),
            shadow: observe.shadow,
            monitor: observe.monitor,
            feedback_token: self.observe.feedback_token.clone(),
            read_token: self.observe.read_token.clone(),
            feedback_rate: self.observe.feedback_rate,
        };
        config.validate()?;
        Ok(config)
    }
}

impl ServeArgs {
    /// The management token, from SENTIO_ADMIN_TOKEN (or --admin-token) or from
    /// --admin-token-file; an empty one disables management.
    fn admin_token(&self) -> anyhow::Result<Option<SecretString>> {
        let token = match (&self.admin_token, &self.admin_token_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "give the management token once: SENTIO_ADMIN_TOKEN (or --admin-token) or \
                 --admin-token-file"
            ),
            (Some(t), None) => {
                let from_env = std::env::var(TOKEN_ENV).ok();
                if from_env.as_deref() != Some(t.expose_secret()) {
                    tracing::warn!(
                        "the management token was given on the command line, where every \
                         user of this machine can read it (/proc/*/cmdline); set \
                         {TOKEN_ENV} or use --admin-token-file"
                    );
                }
                t.clone()
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("--admin-token-file: cannot read {}", path.display())
                })?;
                let token = text.trim();
                if token.is_empty() {
                    anyhow::bail!("--admin-token-file: {} is empty", path.display());
                }
                SecretString::from(token)
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(token).filter(|t| !t.expose_secret().is_empty()))
    }
}

/// The environment variable of the management token.
const TOKEN_ENV: &str = "SENTIO_ADMIN_TOKEN";

fn spec(name: &str, source: VariantSource) -> VariantSpec {
    VariantSpec {
        name: name.to_string(),
        source,
        weight: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serve::capture::{CaptureFormat, CaptureMode};
    use serve::PathCatalog;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn parses_variants_weights_and_redacts_the_token() {
        let cli = Cli::try_parse_from([
            "sentio",
            "--variant",
            "A=/m/a",
            "--variant",
            "B=/m/b",
            "--upstream",
            "C=http://h:1",
            "--weight",
            "A=2",
            "--admin-token",
            "s3cret",
            "--device",
            "cpu",
        ])
        .unwrap();
        let dbg = format!("{:?}", cli.serve);
        assert!(!dbg.contains("s3cret"), "{dbg}");
        let c = cli
            .serve
            .to_config(
                Arc::new(PathCatalog::default()),
                std::path::Path::new(".sentio"),
            )
            .unwrap();
        assert_eq!(c.variants.len(), 3);
        assert_eq!(c.variants[0].weight, 2.0);
        assert_eq!(
            c.variants[2].source,
            VariantSource::Upstream("http://h:1".into())
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    fn parse(extra: &[&str]) -> anyhow::Result<ServeConfig> {
        let mut args = vec!["sentio", "--model", "/m", "--device", "cpu"];
        args.extend_from_slice(extra);
        Cli::try_parse_from(args).unwrap().serve.to_config(
            Arc::new(PathCatalog::default()),
            std::path::Path::new("/tmp"),
        )
    }

    #[test]
    fn loopback_by_default_and_the_hardening_flags_reach_the_limits() {
        let cli = Cli::try_parse_from(["sentio", "--model", "/m"]).unwrap();
        assert_eq!(cli.serve.host, "127.0.0.1");
        let c = parse(&[
            "--header-read-timeout-secs",
            "3",
            "--idle-timeout-secs",
            "7",
            "--body-read-timeout-secs",
            "9",
            "--min-body-rate",
            "10",
            "--max-connections",
            "100",
            "--shutdown-grace-secs",
            "0",
        ])
        .unwrap();
        assert_eq!(c.limits.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(7));
        assert_eq!(c.limits.body_read_timeout, Duration::from_secs(9));
        assert_eq!(c.limits.min_body_rate, 10);
        assert_eq!(c.limits.max_connections, Some(100));
        assert_eq!(c.limits.shutdown_grace, Duration::ZERO);
        // The flag defaults are the library's.
        let d = parse(&[]).unwrap();
        assert_eq!(d.limits, Limits::default());
    }

    #[test]
    fn max_instances_above_the_queue_capacity_is_refused() {
        let e = parse(&["--max-instances", "100", "--queue-capacity", "50"]).unwrap_err();
        assert!(e.to_string().contains("--queue-capacity (50)"), "{e}");
        assert!(parse(&["--header-read-timeout-secs", "0"]).is_err());
    }

    #[test]
    fn the_token_comes_from_a_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let f = file.to_str().unwrap();
        let c = parse(&["--admin-token-file", f]).unwrap();
        assert_eq!(c.admin_token.unwrap().expose_secret(), "s3cret");
        assert!(parse(&["--admin-token-file", f, "--admin-token", "x"]).is_err());
        std::fs::write(&file, " \n").unwrap();
        let e = parse(&["--admin-token-file", f]).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let missing = dir.path().join("nope");
        assert!(parse(&["--admin-token-file", missing.to_str().unwrap()]).is_err());
    }

    #[test]
    fn a_weight_for_an_unknown_variant_is_refused() {
        let cli = Cli::try_parse_from([
            "sentio", "--model", "/m", "--weight", "X=1", "--device", "cpu",
        ])
        .unwrap();
        assert!(cli
            .serve
            .to_config(
                Arc::new(PathCatalog::default()),
                std::path::Path::new(".sentio")
            )
            .is_err());
    }

    #[test]
    fn capture_mode_and_content_types_are_parsed_and_checked() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["sentio", "--model", "/m", "--device", "cpu"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).map(|cli| {
                cli.serve
                    .to_config(
                        Arc::new(PathCatalog::default()),
                        std::path::Path::new(".sentio"),
                    )
                    .map_err(|e| format!("{e:#}"))
            })
        };
        let c = parse(&[
            "--capture-dir",
            "/cap",
            "--capture-mode",
            "output",
            "--capture-csv-content-types",
            "text/csv, Application/X-CSV",
        ])
        .unwrap()
        .unwrap();
        let format = &c.capture.unwrap().format;
        assert_eq!(format.mode, CaptureMode::Output);
        let types = format.text_types.as_ref().unwrap();
        assert_eq!(types.csv, ["text/csv", "application/x-csv"]);
        assert!(types.json.is_empty());
        let default = parse(&["--capture-dir", "/cap"]).unwrap().unwrap();
        assert_eq!(default.capture.unwrap().format, CaptureFormat::default());

        assert!(
            parse(&["--capture-dir", "/cap", "--capture-mode", "sideways"]).is_err(),
            "not a mode"
        );
        for (extra, expected) in [
            (vec!["--capture-mode", "input"], "need --capture-dir"),
            (
                vec![
                    "--capture-dir",
                    "/c",
                    "--capture-json-content-types",
                    "json",
                ],
                "is not a content type",
            ),
            (
                vec![
                    "--capture-dir",
                    "/c",
                    "--capture-json-content-types",
                    "application/json; charset=utf-8",
                ],
                "is not a content type",
            ),
            (
                vec!["--capture-dir", "/c", "--capture-csv-content-types", ""],
                "is not a content type",
            ),
            (
                vec![
                    "--capture-dir",
                    "/c",
                    "--capture-json-content-types",
                    "text/csv",
                    "--capture-csv-content-types",
                    "TEXT/CSV",
                ],
                "in both",
            ),
            (
                vec![
                    "--capture-dir",
                    "/c",
                    "--capture-json-content-types",
                    "a/a,a/b,a/c,a/d,a/e,a/f,a/g,a/h,a/i,a/j,a/k",
                ],
                "at most 10",
            ),
        ] {
            let e = parse(&extra).unwrap().unwrap_err();
            assert!(e.contains(expected), "{extra:?}: {e}");
        }
    }
}
