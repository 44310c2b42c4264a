//! A retrained version as a canary: deployed to a new variant with a small share of the
//! traffic, an A/B experiment between it and the live variant, and — once the experiment
//! has a verdict — promotion: the winner's model serves the live variant (an atomic swap
//! when the canary won) and the canary variant is retired. Every step goes through the
//! endpoint's management operations, so each is recorded in the deployment history.
use super::{RetrainedModel, Served};
use monitoring::experiment::{Experiment, ReportOptions, Verdict};

/// How a retrained version is tried.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    /// Share of the traffic the canary gets, in percent (0–50).
    pub percent: f64,
    /// Promote (or retire) automatically at the verdict; otherwise wait for a person
    /// (`sentio experiment promote`).
    pub auto_promote: bool,
    /// The verdict's settings.
    pub report: ReportOptions,
}

/// A canary being tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub experiment: String,
    /// The variant it competes with, and its own.
    pub live: String,
    pub variant: String,
    /// Its model reference.
    pub reference: String,
}

/// How a canary ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The canary won: its model now serves the live variant.
    Promoted,
    /// The live model won, or no difference: the canary is retired.
    Retired,
}

/// A variant name not in use: `canary`, `canary-2`, …
fn free_name(served: &dyn Served) -> String {
    let taken: Vec<String> = served.variants().into_iter().map(|v| v.0).collect();
    (1..)
        .map(|i| {
            if i == 1 {
                "canary".to_string()
            } else {
                format!("canary-{i}")
            }
        })
        .find(|n| !taken.contains(n))
        .unwrap_or_else(|| "canary".into())
}

/// Deploys `model` as a canary beside `live` and starts the experiment between them.
pub async fn deploy(
    served: &dyn Served,
    cfg: &CanaryConfig,
    live: &str,
    model: &RetrainedModel,
) -> Result<Canary, String> {
    let share = (cfg.percent / 100.0).clamp(0.001, 0.5);
    let total: f64 = served.variants().iter().map(|v| v.1).sum();
    let weight = total.max(1.0) * share / (1.0 - share);
    let variant = free_name(served);
    served
        .add_variant(variant.clone(), model.reference.clone(), weight)
        .await?;
    let short = model.version.trim_start_matches("sha256-");
    let mut id = format!("canary-{short}");
    let mut n = 2;
    while served.experiment_exists(&id) {
        id = format!("canary-{short}-{n}");
        n += 1;
    }
    let mut e = Experiment::new(
        &id,
        &served.endpoint_name(),
        vec![live.into(), variant.clone()],
    )
    .map_err(|e| e.to_string())?;
    e.canary = Some(model.reference.clone());
    served.save_experiment(&e)?;
    served.record(&variant, "canary", Some(&model.reference));
    tracing::info!(%variant, %live, experiment = %id, version = %model.version, share, "canary deployed");
    Ok(Canary {
        experiment: id,
        live: live.into(),
        variant,
        reference: model.reference.clone(),
    })
}

/// Settles a canary whose experiment has a verdict (and, without auto-promotion, only
/// reports it); `None` while there is not enough data.
pub async fn settle(
    served: &dyn Served,
    cfg: &CanaryConfig,
    c: &Canary,
) -> Result<Option<Settled>, String> {
    let report = served.experiment_report(&c.experiment, &cfg.report)?;
    let winner = match &report.verdict {
        Verdict::NotEnoughData { .. } => return Ok(None),
        Verdict::Winner { variant } => variant.clone(),
        Verdict::NoSignificantDifference => c.live.clone(),
    };
    if !cfg.auto_promote {
        tracing::info!(experiment = %c.experiment, %winner, "canary verdict reached; promote with `sentio experiment promote`");
        return Ok(None);
    }
    let mut e = report.experiment.clone();
    let settled = if winner == c.variant {
        served.deploy(c.live.clone(), c.reference.clone()).await?;
        served.record(&c.live, "promote", Some(&c.reference));
        Settled::Promoted
    } else {
        Settled::Retired
    };
    // Removing the variant records its retirement.
    served.remove_variant(c.variant.clone()).await?;
    e.status = "promoted".into();
    e.winner = Some(winner.clone());
    e.ended_at = Some(chrono::Utc::now());
    served.save_experiment(&e)?;
    tracing::info!(experiment = %c.experiment, %winner, outcome = ?settled, p_value = report.p_value, "canary settled");
    Ok(Some(settled))
}
