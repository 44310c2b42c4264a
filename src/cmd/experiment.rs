//! `sentio experiment …`: create, list, report and promote A/B experiments.
use anyhow::Context;
use monitoring::experiment::{report_from_files, Experiment, ExperimentStore, ReportOptions};
use std::path::PathBuf;

/// A/B experiments between the variants of an endpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct ExperimentArgs {
    /// Serve state directory (experiments/ and feedback/ live here).
    #[arg(
        long,
        env = "SENTIO_STATE_DIR",
        default_value = ".sentio/state",
        global = true
    )]
    pub state_dir: PathBuf,
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExperimentCommand {
    /// Start an experiment: which variants are compared, by which goal metric.
    Create {
        /// The experiment's id (letters, digits, `-`, `_`).
        #[arg(long)]
        id: String,
        /// The endpoint whose traffic is compared (its capture folder's name).
        #[arg(long, default_value = "sentio")]
        endpoint: String,
        /// A compared variant (repeatable; the first is the control).
        #[arg(long = "variant", required = true, value_delimiter = ',')]
        variants: Vec<String>,
        /// A shadow variant whose agreement is reported.
        #[arg(long)]
        shadow: Option<String>,
        /// The metric the verdict compares.
        #[arg(long, default_value = "accuracy")]
        goal: String,
    },
    /// List experiments (id, endpoint, variants, status, start; tab-separated).
    List {
        /// Print the experiments as a JSON array instead.
        #[arg(long)]
        json: bool,
    },
    /// Per-variant traffic, latency, predictions, accuracy with intervals, a significance
    /// test and a verdict.
    Report {
        /// The experiment's id.
        #[arg(long)]
        id: String,
        /// The endpoint's capture folder (capture/<endpoint>).
        #[arg(long)]
        capture: PathBuf,
        /// Ground truth (default: <state-dir>/feedback/<endpoint>/).
        #[arg(long)]
        feedback: Option<PathBuf>,
        /// Fewest labelled instances per variant before there is a verdict.
        #[arg(long, default_value_t = 100)]
        min_samples: u64,
        /// Significance level of the test.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Smallest accuracy difference worth detecting.
        #[arg(long, default_value_t = 0.05)]
        min_effect: f64,
    },
    /// Shift all weight to the winner through the management API and record it.
    Promote {
        /// The experiment's id.
        #[arg(long)]
        id: String,
        /// Base URL of the endpoint, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// The endpoint's management token.
        #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// The winner (default: the verdict, which must name one, or be "no significant
        /// difference" for a canary: the live variant stays).
        #[arg(long)]
        winner: Option<String>,
        /// The capture folder for the verdict (default: the endpoint computes it, from
        /// `GET /experiments/{id}`).
        #[arg(long)]
        capture: Option<PathBuf>,
        /// Ground truth for that verdict (default: <state-dir>/feedback/<endpoint>/).
        #[arg(long)]
        feedback: Option<PathBuf>,
        /// Sentio home: a promotion of registry versions is recorded in its history.
        #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
        home: PathBuf,
    },
}

/// Runs `sentio experiment …`.
pub fn run(args: ExperimentArgs) -> anyhow::Result<()> {
    let store = ExperimentStore::new(&args.state_dir);
    match args.command {
        ExperimentCommand::Create {
            id,
            endpoint,
            variants,
            shadow,
            goal,
        } => {
            let mut e = Experiment::new(&id, &endpoint, variants)?;
            e.shadow = shadow;
            e.goal_metric = goal;
            store.create(&e)?;
            println!("{}", serde_json::to_string_pretty(&e)?);
        }
        ExperimentCommand::List { json: true } => {
            println!("{}", serde_json::to_string_pretty(&store.list()?)?);
        }
        ExperimentCommand::List { json: false } => {
            for e in store.list()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.endpoint,
                    e.variants.join(","),
                    e.status,
                    e.started_at
                );
            }
        }
        ExperimentCommand::Report {
            id,
            capture,
            feedback,
            min_samples,
            alpha,
            min_effect,
        } => {
            let opts = ReportOptions {
                alpha,
                min_samples,
                min_effect,
                ..ReportOptions::default()
            };
            let r = report_from_files(&args.state_dir, &id, &capture, feedback.as_deref(), &opts)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        ExperimentCommand::Promote {
            id,
            url,
            admin_token,
            winner,
            capture,
            feedback,
            home,
        } => {
            let mut e = store.load(&id)?;
            if e.status == "promoted" {
                anyhow::bail!(
                    "experiment {id:?} was already promoted ({:?} won)",
                    e.winner
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let api = Api {
                base: url.trim_end_matches('/').to_string(),
                token: Some(admin_token),
                rt: &rt,
            };
            let winner = match winner {
                Some(w) => w,
                None => {
                    let r = match capture {
                        Some(c) => serde_json::to_value(report_from_files(
                            &args.state_dir,
                            &id,
                            &c,
                            feedback.as_deref(),
                            &ReportOptions::default(),
                        )?)?,
                        None => {
                            api.call(hyper::Method::GET, &format!("/experiments/{id}"), None)?
                        }
                    };
                    match (r["verdict"].as_str(), r["variant"].as_str()) {
                        (Some("winner"), Some(v)) => v.to_string(),
                        (Some("no_significant_difference"), _) if e.canary.is_some() => {
                            e.variants[0].clone()
                        }
                        _ => anyhow::bail!(
                            "no winner to promote yet: verdict {} (labelled instances per variant needed: {})",
                            r["verdict"],
                            r["needed_per_variant"]
                        ),
                    }
                }
            };
            if !e.variants.contains(&winner) {
                anyhow::bail!("{winner:?} is not a variant of experiment {id:?}");
            }
            match &e.canary {
                Some(reference) => {
                    let (live, canary) = (&e.variants[0], &e.variants[1]);
                    if winner == *canary {
                        let body = serde_json::json!({ "model": reference });
                        api.call(
                            hyper::Method::POST,
                            &format!("/v1/admin/variants/{live}/deploy"),
                            Some(body),
                        )?;
                        record_promotion(&home, &e.endpoint, live, reference);
                    }
                    api.call(
                        hyper::Method::DELETE,
                        &format!("/v1/admin/variants/{canary}"),
                        None,
                    )?;
                    println!(
                        "{winner} won experiment {id}: {live} serves {}; canary {canary} retired",
                        if winner == *canary {
                            reference.as_str()
                        } else {
                            "its model still"
                        }
                    );
                }
                None => {
                    let weights: serde_json::Map<String, serde_json::Value> = e
                        .variants
                        .iter()
                        .map(|v| {
                            (
                                v.clone(),
                                serde_json::json!(if *v == winner { 1.0 } else { 0.0 }),
                            )
                        })
                        .collect();
                    api.call(
                        hyper::Method::PUT,
                        "/v1/admin/weights",
                        Some(serde_json::json!({ "weights": weights })),
                    )?;
                    println!("promoted {winner} in experiment {id}: all weight moved to it");
                }
            }
            e.status = "promoted".into();
            e.winner = Some(winner);
            e.ended_at = Some(chrono::Utc::now());
            store.save(&e)?;
        }
    }
    Ok(())
}

/// The management API of an endpoint.
struct Api<'a> {
    base: String,
    token: Option<String>,
    rt: &'a tokio::runtime::Runtime,
}

impl Api<'_> {
    fn call(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let bytes = self.rt.block_on(serve::client::send_json(
            method,
            &url,
            &body.unwrap_or(serde_json::Value::Null),
            self.token.as_deref(),
        ))?;
        Ok(serde_json::from_slice(&bytes).unwrap_or_default())
    }
}

/// Records in the registry's history that a registry version was promoted on a variant
/// (best effort: a reference outside the registry has no history).
fn record_promotion(home: &std::path::Path, endpoint: &str, variant: &str, reference: &str) {
    let Some(version) = reference
        .rsplit(':')
        .next()
        .filter(|v| v.starts_with("sha256-"))
    else {
        return;
    };
    let recorded = super::home::home_at(home).open_stores().and_then(|s| {
        s.registry().record_endpoint_event(
            "promoted",
            endpoint,
            variant,
            version,
            "experiment verdict",
        )
    });
    if let Err(e) = recorded {
        eprintln!("warning: the promotion is not in the registry's history: {e}");
    }
}

/// A canary started from the command line.
pub struct Canary {
    pub variant: String,
    pub live: String,
    pub experiment: String,
}

/// Deploys `reference` as a canary with `percent` of the traffic of the endpoint at `url`
/// beside its most weighted variant, and creates the experiment between them in `state`.
pub fn deploy_canary(
    url: &str,
    token: Option<&str>,
    state: &std::path::Path,
    reference: &str,
    version: &str,
    percent: f64,
) -> anyhow::Result<Canary> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let api = Api {
        base: url.trim_end_matches('/').to_string(),
        token: token.map(String::from),
        rt: &rt,
    };
    let described = api.call(hyper::Method::GET, "/v1/admin/endpoint", None)?;
    let variants = described["variants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = variants.iter().filter_map(|v| v["name"].as_str()).collect();
    let live = variants
        .iter()
        .max_by(|a, b| {
            a["weight"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["weight"].as_f64().unwrap_or(0.0))
        })
        .and_then(|v| v["name"].as_str())
        .context("the endpoint has no variant")?
        .to_string();
    let total: f64 = variants.iter().filter_map(|v| v["weight"].as_f64()).sum();
    let share = percent / 100.0;
    let variant = (1..)
        .map(|i| {
            if i == 1 {
                "canary".to_string()
            } else {
                format!("canary-{i}")
            }
        })
        .find(|n| !names.contains(&n.as_str()))
        .unwrap_or_else(|| "canary".into());
    api.call(
        hyper::Method::POST,
        "/v1/admin/variants",
        Some(serde_json::json!({
            "name": variant,
            "model": reference,
            "weight": total.max(1.0) * share / (1.0 - share),
        })),
    )?;
    let endpoint = described["endpoint"]
        .as_str()
        .unwrap_or("sentio")
        .to_string();
    let store = ExperimentStore::new(state);
    let short = version.trim_start_matches("sha256-");
    let mut id = format!("canary-{short}");
    let mut n = 2;
    while store.load(&id).is_ok() {
        id = format!("canary-{short}-{n}");
        n += 1;
    }
    let mut e = Experiment::new(&id, &endpoint, vec![live.clone(), variant.clone()])?;
    e.canary = Some(reference.to_string());
    store.create(&e)?;
    Ok(Canary {
        variant,
        live,
        experiment: id,
    })
}
