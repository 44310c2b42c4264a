//! The flags of `sentio serve` and their conversion to a `serve::ServeConfig`.
use crate::cmd::retrain::PipelineRetrainer;
use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use monitoring::drift::{MonitorConfig, Thresholds};
use secrecy::{ExposeSecret, SecretString};
use serve::capture::{CaptureConfig, CaptureFormat, CaptureMode, TextTypes};
use serve::endpoint::routing::{self, RoutingConfig};
use serve::schedule::{Action, ScheduleConfig};
use serve::shadow::ShadowConfig;
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
    #[arg(value_parser = secret)]
    pub admin_token: Option<SecretString>,
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

fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
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
        let observe = self.observe.to_config(&self.endpoint_name)?;
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
                ..Limits::default()
            },
            device: device.resolve()?,
            admin_token: self
                .admin_token
                .clone()
                .filter(|t| !t.expose_secret().is_empty()),
            worker: self.worker,
            force: self.force,
            tokenizer_threads: self.tokenizer_threads,
            catalog,
            transform_roots: self.transform_roots.clone(),
            routing: RoutingConfig {
                session_header: self.observe.session_header.to_ascii_lowercase(),
            },
            capture: observe.capture,
            state_dir: self.observe.state_dir.clone(),
            shadow: observe.shadow,
            monitor: observe.monitor,
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

/// `sentio serve` flags of capture, experiments, shadow and the drift schedule.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ObserveArgs {
    /// Capture requests and responses under DIR/<endpoint>/<variant>/YYYY/MM/DD/HH/.
    #[arg(long, env = "SENTIO_CAPTURE_DIR")]
    pub capture_dir: Option<PathBuf>,
    /// Percentage of requests captured (0–100).
    #[arg(long, env = "SENTIO_CAPTURE_SAMPLING", default_value_t = 100.0)]
    pub capture_sampling: f64,
    /// Captured records waiting for the writer, at most; beyond it a record is dropped
    /// (counted in sentio_capture_dropped_total).
    #[arg(long, env = "SENTIO_CAPTURE_BUFFER", default_value_t = 4096)]
    pub capture_buffer: usize,
    /// Which sides of each sampled exchange are captured, as SageMaker's CaptureMode
    /// [default: input-and-output].
    #[arg(long, env = "SENTIO_CAPTURE_MODE", value_parser = PossibleValuesParser::new(["input", "output", "input-and-output"]).map(|s| s.parse::<CaptureMode>().unwrap_or_default()))]
    pub capture_mode: Option<CaptureMode>,
    /// Content types whose bodies are stored as JSON text (comma-separated). With either
    /// list, as SageMaker's CaptureContentTypeHeader, only the listed types are stored as
    /// text and any other as base64; without both, any type naming json or csv is text.
    #[arg(long, env = "SENTIO_CAPTURE_JSON_CONTENT_TYPES", value_delimiter = ',')]
    pub capture_json_content_types: Vec<String>,
    /// Content types whose bodies are stored as CSV text (comma-separated); see
    /// --capture-json-content-types.
    #[arg(long, env = "SENTIO_CAPTURE_CSV_CONTENT_TYPES", value_delimiter = ',')]
    pub capture_csv_content_types: Vec<String>,
    /// State directory: experiment records and the feedback file (enables POST /feedback and
    /// GET /experiments/{id}).
    #[arg(long, env = "SENTIO_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Header whose value assigns requests to variants stickily (consistent hashing).
    #[arg(long, env = "SENTIO_SESSION_HEADER", default_value = routing::SESSION_HEADER)]
    pub session_header: String,
    /// A shadow model as NAME=MODEL; its responses are never returned.
    #[arg(long, env = "SENTIO_SHADOW", value_parser = parse_shadow)]
    pub shadow: Option<(String, String)>,
    /// The production variant whose traffic the shadow receives a copy of.
    #[arg(long, env = "SENTIO_SHADOW_OF", default_value = "AllTraffic")]
    pub shadow_of: String,
    /// Share of that variant's requests copied to the shadow (0–1).
    #[arg(long, env = "SENTIO_SHADOW_FRACTION", default_value_t = 1.0)]
    pub shadow_fraction: f64,
    /// Shadow requests running at once, at most; beyond it copies are dropped (counted).
    #[arg(long, env = "SENTIO_SHADOW_MAX_IN_FLIGHT", default_value_t = 32)]
    pub shadow_max_in_flight: usize,
    /// Run the drift monitor every this many seconds (needs --capture-dir and --monitor-baseline).
    #[arg(long, env = "SENTIO_MONITOR_INTERVAL_SECS")]
    pub monitor_interval_secs: Option<u64>,
    /// Baseline folder (statistics.json, constraints.json) of the drift monitor.
    #[arg(long, env = "SENTIO_MONITOR_BASELINE")]
    pub monitor_baseline: Option<PathBuf>,
    /// Model artifact whose tokenizer profiles captured texts (default: the baseline's parent).
    #[arg(long, env = "SENTIO_MONITOR_MODEL")]
    pub monitor_model: Option<PathBuf>,
    /// Window of captured traffic each run looks at, in minutes.
    #[arg(long, env = "SENTIO_MONITOR_WINDOW_MINUTES", default_value_t = 60.0)]
    pub monitor_window_minutes: f64,
    /// Fewest records in the window before anything is judged.
    #[arg(long, env = "SENTIO_MONITOR_MIN_SAMPLES", default_value_t = 100)]
    pub monitor_min_samples: u64,
    /// Where the monitor writes its reports (default: <capture-dir>/../monitor/<endpoint>).
    #[arg(long, env = "SENTIO_MONITOR_OUT")]
    pub monitor_out: Option<PathBuf>,
    /// POST violations to this http:// URL (once per violation window).
    #[arg(long, env = "SENTIO_MONITOR_WEBHOOK")]
    pub monitor_webhook: Option<String>,
    /// Trigger the retraining pipeline in this SENTIO_HOME on violations (once per window).
    #[arg(long, env = "SENTIO_MONITOR_RETRAIN_HOME")]
    pub monitor_retrain_home: Option<PathBuf>,
}

fn parse_shadow(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=MODEL, got {s:?}"))?;
    serve::validate_variant_name(k.trim())?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// What the observation flags configure.
pub struct Observe {
    pub capture: Option<CaptureConfig>,
    pub shadow: Option<ShadowConfig>,
    pub monitor: Option<ScheduleConfig>,
}

impl ObserveArgs {
    pub fn to_config(&self, endpoint: &str) -> anyhow::Result<Observe> {
        serve::capture::validate_sampling_percent(self.capture_sampling)
            .map_err(|e| anyhow::anyhow!("--capture-sampling: {e}"))?;
        if !(0.0..=1.0).contains(&self.shadow_fraction) {
            anyhow::bail!("--shadow-fraction is a share, 0–1");
        }
        let (json, csv) = (
            &self.capture_json_content_types,
            &self.capture_csv_content_types,
        );
        let text_types = if json.is_empty() && csv.is_empty() {
            None
        } else {
            Some(TextTypes::new(json, csv).map_err(anyhow::Error::msg)?)
        };
        if self.capture_dir.is_none() && (self.capture_mode.is_some() || text_types.is_some()) {
            anyhow::bail!("--capture-mode and the capture content types need --capture-dir");
        }
        let capture = self.capture_dir.as_ref().map(|d| CaptureConfig {
            dir: d.clone(),
            sampling_percent: self.capture_sampling,
            buffer: self.capture_buffer.max(1),
            format: CaptureFormat {
                mode: self.capture_mode.unwrap_or_default(),
                text_types,
            },
        });
        let monitor = match (self.monitor_interval_secs, &self.monitor_baseline, &capture) {
            (None, _, _) => None,
            (Some(_), None, _) | (Some(_), _, None) => {
                anyhow::bail!("--monitor-interval-secs needs --monitor-baseline and --capture-dir")
            }
            (Some(secs), Some(baseline), Some(c)) => {
                let mut actions = Vec::new();
                if let Some(u) = &self.monitor_webhook {
                    actions.push(Action::Webhook(u.clone()));
                }
                if let Some(h) = &self.monitor_retrain_home {
                    actions.push(Action::Retrain(Arc::new(PipelineRetrainer {
                        home: h.clone(),
                        source: pipeline::PipelineSource::default(),
                    })));
                }
                let out = self.monitor_out.clone().unwrap_or_else(|| {
                    c.dir
                        .parent()
                        .unwrap_or(&c.dir)
                        .join("monitor")
                        .join(endpoint)
                });
                Some(ScheduleConfig {
                    interval: std::time::Duration::from_secs(secs.max(1)),
                    job: MonitorConfig {
                        capture_dir: c.dir.join(endpoint),
                        baseline_dir: baseline.clone(),
                        model_dir: self.monitor_model.clone(),
                        window: std::time::Duration::try_from_secs_f64(
                            self.monitor_window_minutes * 60.0,
                        )
                        .ok(),
                        thresholds: Thresholds {
                            min_samples: self.monitor_min_samples,
                            ..Default::default()
                        },
                        out_dir: out,
                        threads: 1,
                    },
                    actions,
                })
            }
        };
        Ok(Observe {
            capture,
            shadow: self.shadow.as_ref().map(|(name, model)| ShadowConfig {
                name: name.clone(),
                model: model.clone(),
                production: self.shadow_of.clone(),
                fraction: self.shadow_fraction,
                max_in_flight: self.shadow_max_in_flight.max(1),
            }),
            monitor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
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
