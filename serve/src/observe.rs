//! What the endpoint observes about its traffic, glued to the routes: data capture, the
//! feedback index and file, sticky A/B routing and shadow copies. The routes call
//! [`Observe::route`] before and [`Observe::after`] after answering; everything here is
//! off by default and never fails or delays a request.
use crate::capture::{Capture, CaptureConfig, CaptureFormat, CaptureMode, Exchange, TextTypes};
use crate::endpoint::{Endpoint, Routed};
use crate::error::ServeError;
use crate::feedback::{FeedbackIndex, FeedbackStore};
use crate::http::Resp;
use crate::monitor::ScheduleConfig;
use crate::shadow::{Shadow, ShadowConfig, ShadowJob};
use bytes::Bytes;
use http_body_util::Full;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Default header carrying the sticky A/B key.
pub const SESSION_HEADER: &str = "x-sentio-session";
const FEEDBACK_INDEX: usize = 200_000;

/// Capture, experiments, shadow and the drift schedule of one endpoint.
#[derive(Debug, Clone, Default)]
pub struct ObserveConfig {
    pub capture: Option<CaptureConfig>,
    /// Experiments and feedback live here (`experiments/`, `feedback/`).
    pub state_dir: Option<PathBuf>,
    /// Header whose value assigns a request to a variant stickily (default
    /// `x-sentio-session`).
    pub session_header: Option<String>,
    pub shadow: Option<ShadowConfig>,
    /// The in-process drift monitor (needs capture).
    pub monitor: Option<ScheduleConfig>,
}

/// The live state the routes use.
pub struct Observe {
    pub endpoint: String,
    pub capture: Option<Capture>,
    pub feedback_index: FeedbackIndex,
    pub feedback: Option<Arc<FeedbackStore>>,
    pub session_header: String,
    pub shadow: Option<Arc<Shadow>>,
    pub config: ObserveConfig,
}

/// What a route knows about a request when it finishes it.
pub struct Observed<'a> {
    pub routed: &'a Routed,
    pub inference_id: &'a str,
    pub input_content_type: &'a str,
    pub input: Option<Bytes>,
    pub started: Instant,
    pub session: Option<String>,
    pub shadow: Option<ShadowJob>,
}

impl Observe {
    pub fn new(endpoint: &str, config: ObserveConfig) -> Result<Observe, ServeError> {
        let capture = match &config.capture {
            Some(c) => Some(Capture::start(c.clone(), endpoint)?),
            None => None,
        };
        Ok(Observe {
            endpoint: endpoint.to_string(),
            capture,
            feedback_index: FeedbackIndex::new(FEEDBACK_INDEX),
            feedback: config
                .state_dir
                .as_deref()
                .map(|d| Arc::new(FeedbackStore::new(d, endpoint))),
            session_header: config
                .session_header
                .clone()
                .unwrap_or_else(|| SESSION_HEADER.into())
                .to_ascii_lowercase(),
            shadow: config.shadow.clone().map(|s| Arc::new(Shadow::new(s))),
            config,
        })
    }

    /// The sticky key of a request, if it sent one.
    pub fn session(&self, h: &hyper::HeaderMap) -> Option<String> {
        crate::http::header_str(h, &self.session_header)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .map(String::from)
    }

    /// A target variant wins; else a session key routes stickily; else by weight.
    pub fn route(
        &self,
        endpoint: &Endpoint,
        target: Option<&str>,
        session: Option<&str>,
    ) -> Result<Routed, ServeError> {
        match (target, session) {
            (None, Some(key)) => endpoint.route_sticky(key),
            _ => endpoint.route(target),
        }
    }

    /// A shadow copy of this request, if it is selected (clones the texts only then).
    pub fn shadow_job(&self, routed: &Routed, texts: &[String]) -> Option<ShadowJob> {
        self.shadow.as_ref()?.select(&routed.variant, texts)
    }

    /// Captures the exchange (if sampled) and starts the shadow copy (if any), then hands
    /// the response back unchanged.
    pub async fn after(&self, o: Observed<'_>, resp: Resp) -> Resp {
        let sampled = self.capture.as_ref().is_some_and(|c| c.sample());
        if !sampled && o.shadow.is_none() {
            return resp;
        }
        let (parts, body) = resp.into_parts();
        let output = full_bytes(body);
        let input = o.input.unwrap_or_default();
        let exchange = Exchange {
            variant: &o.routed.variant,
            model_version: &o.routed.deployed.model_version,
            inference_id: o.inference_id,
            input_content_type: o.input_content_type,
            input: &input,
            output_content_type: parts
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json"),
            output: &output,
            status: parts.status.as_u16(),
            latency: o.started.elapsed(),
            shadow: false,
            session: o.session.as_deref(),
        };
        if let (true, Some(c)) = (sampled, &self.capture) {
            // Only POST /feedback (which needs the feedback store) reads the index.
            if self.feedback.is_some() {
                self.feedback_index
                    .insert(exchange.inference_id, exchange.variant);
            }
            c.submit(&exchange);
        }
        if let (Some(job), Some(shadow)) = (o.shadow, &self.shadow) {
            let production = exchange.labels();
            // The request is copied only when the shadow's answer is to be captured.
            let capture = self.capture.clone().filter(|_| sampled);
            let request = capture.as_ref().map(|_| exchange.to_pending());
            let shadow = shadow.clone();
            tokio::spawn(async move {
                let out = shadow.run(job, &production).await;
                if let (Some(c), Some(request)) = (capture, request) {
                    c.submit(&request.answered_by(&Exchange {
                        variant: &shadow.config.name,
                        model_version: &out.model_version,
                        output_content_type: "application/json",
                        output: &out.body,
                        status: out.status,
                        latency: out.latency,
                        shadow: true,
                        ..Exchange::json("", "", "", b"", b"")
                    }));
                }
            });
        }
        drop(input);
        hyper::Response::from_parts(parts, Full::new(output))
    }
}

/// The bytes of a [`Full`] body without buffering them again: it yields them at once, as
/// its only frame.
fn full_bytes(mut body: Full<Bytes>) -> Bytes {
    use hyper::body::Body;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
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
    /// Captured records waiting for the writer in full batches, at most; beyond it a batch
    /// is dropped (its records counted). Each serving thread also fills one 64 kB batch.
    #[arg(long, env = "SENTIO_CAPTURE_BUFFER", default_value_t = 4096)]
    pub capture_buffer: usize,
    /// Which sides of each sampled exchange are captured, as SageMaker's CaptureMode
    /// [default: input-and-output].
    #[arg(long, env = "SENTIO_CAPTURE_MODE", value_enum)]
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
    /// Write the capture files' whole blocks with direct I/O, around the page cache (where
    /// the file system allows it; otherwise, and with false, through the page cache).
    #[arg(long, env = "SENTIO_CAPTURE_DIRECT_IO", default_value_t = true, action = clap::ArgAction::Set)]
    pub capture_direct_io: bool,
    /// State directory: experiment records and the feedback file (enables POST /feedback and
    /// GET /experiments/{id}).
    #[arg(long, env = "SENTIO_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Header whose value assigns requests to variants stickily (consistent hashing).
    #[arg(long, env = "SENTIO_SESSION_HEADER", default_value = SESSION_HEADER)]
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
    crate::config::validate_variant_name(k.trim())?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

impl ObserveArgs {
    pub fn to_config(&self, endpoint: &str) -> Result<ObserveConfig, String> {
        crate::capture::validate_sampling_percent(self.capture_sampling)
            .map_err(|e| format!("--capture-sampling: {e}"))?;
        if !(0.0..=1.0).contains(&self.shadow_fraction) {
            return Err("--shadow-fraction is a share, 0–1".into());
        }
        let (json, csv) = (
            &self.capture_json_content_types,
            &self.capture_csv_content_types,
        );
        let text_types = if json.is_empty() && csv.is_empty() {
            None
        } else {
            Some(TextTypes::new(json, csv)?)
        };
        if self.capture_dir.is_none() && (self.capture_mode.is_some() || text_types.is_some()) {
            return Err("--capture-mode and the capture content types need --capture-dir".into());
        }
        let capture = self.capture_dir.as_ref().map(|d| CaptureConfig {
            dir: d.clone(),
            sampling_percent: self.capture_sampling,
            buffer: self.capture_buffer.max(1),
            format: CaptureFormat {
                mode: self.capture_mode.unwrap_or_default(),
                text_types,
            },
            direct_io: self.capture_direct_io,
        });
        let monitor = match (self.monitor_interval_secs, &self.monitor_baseline, &capture) {
            (None, _, _) => None,
            (Some(_), None, _) | (Some(_), _, None) => {
                return Err(
                    "--monitor-interval-secs needs --monitor-baseline and --capture-dir".into(),
                )
            }
            (Some(secs), Some(baseline), Some(c)) => {
                let mut actions = Vec::new();
                if let Some(u) = &self.monitor_webhook {
                    actions.push(crate::monitor::Action::Webhook(u.clone()));
                }
                if let Some(h) = &self.monitor_retrain_home {
                    actions.push(crate::monitor::Action::Retrain {
                        home: h.clone(),
                        source: pipeline::PipelineSource::default(),
                    });
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
                    job: crate::monitor::MonitorConfig {
                        capture_dir: c.dir.join(endpoint),
                        baseline_dir: baseline.clone(),
                        model_dir: self.monitor_model.clone(),
                        window: std::time::Duration::try_from_secs_f64(
                            self.monitor_window_minutes * 60.0,
                        )
                        .ok(),
                        thresholds: crate::monitor::Thresholds {
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
        Ok(ObserveConfig {
            capture,
            state_dir: self.state_dir.clone(),
            session_header: Some(self.session_header.clone()),
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
