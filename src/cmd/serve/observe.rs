//! The flags of `sentio serve` that configure data capture, experiments, shadow traffic and
//! the in-process drift schedule, with the retraining, canary and feedback settings of the
//! closed loop.
use crate::cmd::retrain::{PipelineRetrainer, RetrainSettings};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use monitoring::drift::{Baselines, MonitorConfig, Thresholds};
use monitoring::experiment::ReportOptions;
use secrecy::SecretString;
use serve::capture::{CaptureConfig, CaptureFormat, CaptureMode, TextTypes};
use serve::endpoint::routing;
use serve::schedule::{Action, CanaryConfig, ScheduleConfig};
use serve::shadow::ShadowConfig;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Run the drift monitor every this many seconds (needs --capture-dir).
    #[arg(long, env = "SENTIO_MONITOR_INTERVAL_SECS")]
    pub monitor_interval_secs: Option<u64>,
    /// One baseline folder (statistics.json, constraints.json) for all traffic. Without it
    /// each variant and model version is judged against its own model's baseline.
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
    /// Retrain the drifted model version from its lineage on violations (once per
    /// window), in this SENTIO_HOME.
    #[arg(long, env = "SENTIO_MONITOR_RETRAIN_HOME")]
    pub monitor_retrain_home: Option<PathBuf>,
    /// New data for retraining: a data file, or a folder whose data files are all read
    /// (default: the version's own data).
    #[arg(long, env = "SENTIO_RETRAIN_DATA", requires = "monitor_retrain_home")]
    pub retrain_data: Option<PathBuf>,
    /// Add the ground truth received through POST /feedback, joined with the captured
    /// texts, to the retraining data.
    #[arg(
        long,
        env = "SENTIO_RETRAIN_WITH_FEEDBACK",
        requires = "monitor_retrain_home"
    )]
    pub retrain_with_feedback: bool,
    /// Register retrained versions as Approved (they still have to pass the quality gate).
    #[arg(
        long,
        env = "SENTIO_RETRAIN_AUTO_APPROVE",
        requires = "monitor_retrain_home"
    )]
    pub retrain_auto_approve: bool,
    /// Also retrain after this many new ground-truth labels.
    #[arg(
        long,
        env = "SENTIO_RETRAIN_AFTER_LABELS",
        requires = "monitor_retrain_home"
    )]
    pub retrain_after_labels: Option<u64>,
    /// Try an approved retrained version as `canary:PERCENT` of the traffic, with an A/B
    /// experiment against the live variant (needs --state-dir).
    #[arg(long, env = "SENTIO_DEPLOY", value_parser = parse_canary, requires_all = ["monitor_retrain_home", "state_dir"])]
    pub deploy: Option<f64>,
    /// Promote a canary that wins its experiment (and retire one that does not) without
    /// waiting for `sentio experiment promote`.
    #[arg(long, env = "SENTIO_AUTO_PROMOTE", requires = "deploy")]
    pub auto_promote: bool,
    /// Fewest labelled instances per variant before a canary's experiment has a verdict.
    #[arg(long, env = "SENTIO_CANARY_MIN_SAMPLES", default_value_t = 100)]
    pub canary_min_samples: u64,
    /// Bearer token POST /feedback needs (the admin token is accepted too; default: open).
    #[arg(long, env = "SENTIO_FEEDBACK_TOKEN", hide_env_values = true, value_parser = secret)]
    pub feedback_token: Option<SecretString>,
    /// Bearer token GET /experiments/{id} needs (the admin token is accepted too).
    #[arg(long, env = "SENTIO_READ_TOKEN", hide_env_values = true, value_parser = secret)]
    pub read_token: Option<SecretString>,
    /// Ground-truth records POST /feedback accepts per second on average (bursts of ten
    /// seconds' worth); beyond it 429.
    #[arg(long, env = "SENTIO_FEEDBACK_RATE", default_value_t = 1000.0)]
    pub feedback_rate: f64,
}

/// A secret flag value (kept out of `Debug` output).
pub(super) fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

fn parse_canary(s: &str) -> Result<f64, String> {
    let p = s
        .strip_prefix("canary:")
        .ok_or_else(|| format!("{s:?}: use canary:PERCENT, e.g. canary:10"))?
        .trim_end_matches('%')
        .parse::<f64>()
        .map_err(|e| format!("{s:?}: {e}"))?;
    if !(p > 0.0 && p <= 50.0) {
        return Err(format!(
            "{s:?}: a canary takes more than 0 and at most 50 percent"
        ));
    }
    Ok(p)
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
    pub fn to_config(&self, endpoint: &str, home: &std::path::Path) -> anyhow::Result<Observe> {
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
        let monitor = match (self.monitor_interval_secs, &capture) {
            (None, _) => None,
            (Some(_), None) => anyhow::bail!("--monitor-interval-secs needs --capture-dir"),
            (Some(secs), Some(c)) => {
                let mut actions = Vec::new();
                if let Some(u) = &self.monitor_webhook {
                    actions.push(Action::Webhook(u.clone()));
                }
                if let Some(h) = &self.monitor_retrain_home {
                    actions.push(Action::Retrain(Arc::new(PipelineRetrainer(
                        RetrainSettings {
                            home: h.clone(),
                            data: self.retrain_data.clone(),
                            with_feedback: self.retrain_with_feedback,
                            auto_approve: self.retrain_auto_approve,
                            overrides: Vec::new(),
                        },
                    ))));
                }
                let out = self.monitor_out.clone().unwrap_or_else(|| {
                    c.dir
                        .parent()
                        .unwrap_or(&c.dir)
                        .join("monitor")
                        .join(endpoint)
                });
                let baselines = match &self.monitor_baseline {
                    Some(b) => Baselines::One {
                        baseline_dir: b.clone(),
                        model_dir: self.monitor_model.clone(),
                    },
                    None => {
                        let registry = self.monitor_retrain_home.as_deref().unwrap_or(home);
                        Baselines::PerVersion(Arc::new(crate::cmd::reference::registry_model_dirs(
                            &crate::cmd::home::home_at(registry),
                        )?))
                    }
                };
                Some(ScheduleConfig {
                    interval: std::time::Duration::from_secs(secs.max(1)),
                    job: MonitorConfig {
                        capture_dir: c.dir.join(endpoint),
                        baselines,
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
                    retrain_after_labels: self.retrain_after_labels,
                    canary: self.deploy.map(|percent| CanaryConfig {
                        percent,
                        auto_promote: self.auto_promote,
                        report: ReportOptions {
                            min_samples: self.canary_min_samples,
                            ..ReportOptions::default()
                        },
                    }),
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
