//! `sentio registry list|describe|approve|reject|history`.
use super::HomeArgs;
use crate::registry::Registry;

/// The model registry: versions, approval and history.
#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RegistryCommand {
    /// Model versions with status and metrics.
    List {
        /// Only this model package group.
        #[arg(long)]
        group: Option<String>,
    },
    /// One version: metrics, lineage, artifact, history.
    Describe {
        /// Version id (sha256-…) or group/number.
        version: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a PendingManualApproval version (makes it deployable).
    Approve(DecisionArgs),
    /// Reject a pending version, or revoke an approved one.
    Reject(DecisionArgs),
    /// The append-only history; with --at, which versions were approved and deployed then.
    History {
        #[arg(long)]
        group: Option<String>,
        /// A time (RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]] UTC).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    /// Version id (sha256-…) or group/number.
    pub version: String,
    /// Why (kept in the history).
    #[arg(long, default_value = "")]
    pub note: String,
    /// Who decides.
    #[arg(long, env = "USER", default_value = "unknown")]
    pub by: String,
}

/// Runs `sentio registry …`.
pub fn run_registry_cli(args: RegistryArgs) -> anyhow::Result<()> {
    let reg = Registry::open(&args.home.home())?;
    match args.command {
        RegistryCommand::List { group } => {
            println!(
                "{:<16} {:<20} {:<22} {:>9} {:>9} {:>9}  created",
                "version", "id", "status", "accuracy", "bal_acc", "macro_f1"
            );
            for v in reg.list(group.as_deref())? {
                let m = |k: &str| {
                    v.metrics[k]
                        .as_f64()
                        .map(|x| format!("{x:.4}"))
                        .unwrap_or_else(|| "-".into())
                };
                println!(
                    "{:<16} {:<20} {:<22} {:>9} {:>9} {:>9}  {}",
                    format!("{}/{}", v.group, v.number),
                    v.version,
                    v.status.to_string(),
                    m("accuracy"),
                    m("balanced_accuracy"),
                    m("macro_f1"),
                    v.created_at
                );
            }
        }
        RegistryCommand::Describe { version, json } => {
            let v = reg.describe(&version)?;
            let history: Vec<_> = reg
                .history(Some(&v.group), None)?
                .into_iter()
                .filter(|e| e.version == v.version)
                .collect();
            if json {
                let mut out = serde_json::to_value(&v)?;
                out["history"] = serde_json::to_value(&history)?;
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{}/{} {} ({})", v.group, v.number, v.version, v.status);
                println!("  created {} by execution {}", v.created_at, v.execution_id);
                println!(
                    "  artifact {}",
                    args.home
                        .home()
                        .artifacts_dir()
                        .join(&v.artifact_digest)
                        .display()
                );
                println!("  metrics {}", v.metrics);
                for e in history {
                    println!(
                        "  {} {} {}{} by {} {}",
                        e.at,
                        e.event,
                        e.to_status.unwrap_or_default(),
                        e.endpoint
                            .map(|x| format!(" on {x}/{}", e.variant.unwrap_or_default()))
                            .unwrap_or_default(),
                        e.actor,
                        e.note
                    );
                }
            }
        }
        RegistryCommand::Approve(d) => {
            let v = reg.approve(&d.version, &d.by, &d.note)?;
            println!("{}/{} {} is {}", v.group, v.number, v.version, v.status);
        }
        RegistryCommand::Reject(d) => {
            let v = reg.reject(&d.version, &d.by, &d.note)?;
            println!("{}/{} {} is {}", v.group, v.number, v.version, v.status);
        }
        RegistryCommand::History { group, at } => {
            if at.is_some() {
                let st = reg.state_at(group.as_deref(), at.as_deref())?;
                println!("at {}:", st.at);
                println!(
                    "  latest approved: {}",
                    st.latest_approved.as_deref().unwrap_or("none")
                );
                for (v, s) in &st.statuses {
                    println!("  {v}: {s}");
                }
                for (k, e) in &st.deployments {
                    println!("  deployed on {k}: {} (since {})", e.version, e.at);
                }
            } else {
                for e in reg.history(group.as_deref(), None)? {
                    println!(
                        "{} {:<10} {:<10} {:<20} {:<22} {} {}{}",
                        e.at,
                        e.group,
                        e.event,
                        e.version,
                        e.to_status.unwrap_or_default(),
                        e.actor,
                        e.note,
                        e.endpoint
                            .map(|x| format!(" [{x}/{}]", e.variant.unwrap_or_default()))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: RegistryArgs,
    }

    #[test]
    fn arguments_parse() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "x",
            "approve",
            "sentiment/2",
            "--note",
            "looks good",
            "--by",
            "ann",
        ])
        .unwrap();
        let RegistryCommand::Approve(d) = c.args.command else {
            panic!("approve")
        };
        assert_eq!(
            (d.version.as_str(), d.note.as_str(), d.by.as_str()),
            ("sentiment/2", "looks good", "ann")
        );
    }
}
