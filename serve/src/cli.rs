//! `sentio serve`: the clap arguments (the one place the environment is read), their
//! conversion to a `ServeConfig`, and `run_cli`, which builds the runtime, binds, installs
//! SIGTERM / Ctrl-C handling and calls `run`.
use crate::batcher::BatchConfig;
use crate::catalog::{ModelCatalog, PathCatalog};
use crate::config::{Limits, Secret, ServeConfig, VariantSource, VariantSpec};
use anyhow::Context;
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
    /// Address to listen on.
    #[arg(long, env = "SENTIO_HOST", default_value = "0.0.0.0")]
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
    /// Bearer token of the management API (unset: management disabled).
    #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
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
    /// Requests in flight at once, at most; beyond it requests get 429 at once.
    #[arg(long, env = "SENTIO_MAX_CONCURRENCY", default_value_t = 512)]
    pub max_concurrency: usize,
    /// Most instances in one request.
    #[arg(long, env = "SENTIO_MAX_INSTANCES", default_value_t = 1000)]
    pub max_instances: usize,
    /// Request body limit in bytes.
    #[arg(long, env = "SENTIO_MAX_BODY_BYTES", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Per-request time limit in seconds.
    #[arg(long, env = "SENTIO_REQUEST_TIMEOUT_SECS", default_value_t = 60.0)]
    pub request_timeout_secs: f64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SENTIO_DRAIN_TIMEOUT_SECS", default_value_t = 25.0)]
    pub drain_timeout_secs: f64,
    /// Threads tokenizing requests.
    #[arg(long, env = "SENTIO_TOKENIZER_THREADS", default_value_t = 1)]
    pub tokenizer_threads: usize,
    /// Threads of the async runtime (default: one per core).
    #[arg(long, env = "SENTIO_RUNTIME_THREADS")]
    pub runtime_threads: Option<usize>,
    /// Threads libtorch uses inside one forward pass.
    #[arg(long, env = "SENTIO_TORCH_THREADS", default_value_t = 1)]
    pub torch_threads: i32,
    /// Data capture, feedback, experiments, shadow and the drift schedule.
    #[command(flatten)]
    pub observe: crate::observe::ObserveArgs,
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
    pub fn to_config(&self, catalog: Arc<dyn ModelCatalog>) -> anyhow::Result<ServeConfig> {
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
            },
            limits: Limits {
                max_body_bytes: self.max_body_bytes,
                max_concurrency: self.max_concurrency,
                max_instances: self.max_instances,
                request_timeout: secs(self.request_timeout_secs, "--request-timeout-secs")?,
                drain_timeout: secs(self.drain_timeout_secs, "--drain-timeout-secs")?,
                ..Limits::default()
            },
            device: device.resolve()?,
            admin_token: self.admin_token.clone().filter(|t| !t.expose().is_empty()),
            worker: self.worker,
            force: self.force,
            tokenizer_threads: self.tokenizer_threads,
            catalog,
            observe: self
                .observe
                .to_config(&self.endpoint_name)
                .map_err(anyhow::Error::msg)?,
            transform_roots: self.transform_roots.clone(),
        };
        config.validate()?;
        Ok(config)
    }
}

fn spec(name: &str, source: VariantSource) -> VariantSpec {
    VariantSpec {
        name: name.to_string(),
        source,
        weight: 1.0,
    }
}

/// `sentio serve` with artifact paths as model references.
pub fn run_cli(args: ServeArgs) -> anyhow::Result<()> {
    run_cli_with(args, Arc::new(PathCatalog::default()))
}

/// `sentio serve` with a given catalog (e.g. the registry's).
pub fn run_cli_with(args: ServeArgs, catalog: Arc<dyn ModelCatalog>) -> anyhow::Result<()> {
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
        crate::run(config, listener, shutdown_signal()).await?;
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
    #[cfg(unix)]
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
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
            .to_config(Arc::new(PathCatalog::default()))
            .unwrap();
        assert_eq!(c.variants.len(), 3);
        assert_eq!(c.variants[0].weight, 2.0);
        assert_eq!(
            c.variants[2].source,
            VariantSource::Upstream("http://h:1".into())
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn a_weight_for_an_unknown_variant_is_refused() {
        let cli = Cli::try_parse_from([
            "sentio", "--model", "/m", "--weight", "X=1", "--device", "cpu",
        ])
        .unwrap();
        assert!(cli
            .serve
            .to_config(Arc::new(PathCatalog::default()))
            .is_err());
    }

    #[test]
    fn capture_mode_and_content_types_are_parsed_and_checked() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["sentio", "--model", "/m", "--device", "cpu"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).map(|cli| {
                cli.serve
                    .to_config(Arc::new(PathCatalog::default()))
                    .map_err(|e| e.to_string())
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
        let format = &c.observe.capture.unwrap().format;
        assert_eq!(format.mode, crate::capture::CaptureMode::Output);
        let types = format.text_types.as_ref().unwrap();
        assert_eq!(types.csv, ["text/csv", "application/x-csv"]);
        assert!(types.json.is_empty());
        let default = parse(&["--capture-dir", "/cap"]).unwrap().unwrap();
        assert_eq!(
            default.observe.capture.unwrap().format,
            crate::capture::CaptureFormat::default()
        );

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
