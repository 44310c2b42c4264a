//! `sentio registry list|describe|approve|reject|history`: arguments and printing; the
//! work is the pipeline crate's registry.
use super::home::HomeArgs;
use pipeline::{ModelVersion, Registry};

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
        /// Only this model package group [default: all groups].
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// Print the versions as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One version: metrics, lineage, artifact, history.
    Describe {
        /// Version id (sha256-…) or group/number.
        version: String,
        /// Print the version and its history as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a PendingManualApproval version (makes it deployable).
    Approve(DecisionArgs),
    /// Reject a pending version, or revoke an approved one.
    Reject(DecisionArgs),
    /// The append-only history; with --at, which versions were approved and deployed then.
    History {
        /// Only this model package group [default: all groups].
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// A time (RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]] UTC) [default: the whole history].
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print the history (or the state at --at) as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    /// Version id (sha256-…) or group/number.
    pub version: String,
    /// Why (kept in the history) [default: no note].
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        value_name = "TEXT"
    )]
    pub note: String,
    /// Who decides.
    #[arg(long, env = "USER", default_value = "unknown", value_name = "NAME")]
    pub by: String,
}

fn list(v: &[ModelVersion]) {
    println!(
        "{:<16} {:<20} {:<22} {:>9} {:>9} {:>9}  created",
        "version", "id", "status", "accuracy", "bal_acc", "macro_f1"
    );
    for v in v {
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

fn describe(reg: &Registry, version: &str, json: bool) -> anyhow::Result<()> {
    let v = reg.describe(version)?;
    let history = reg.version_history(&v)?;
    if json {
        let mut out = serde_json::to_value(&v)?;
        out["history"] = serde_json::to_value(&history)?;
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{}/{} {} ({})", v.group, v.number, v.version, v.status);
    println!("  created {} by execution {}", v.created_at, v.execution_id);
    println!("  artifact {}", reg.artifact_location(&v));
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
    Ok(())
}

fn history(
    reg: &Registry,
    group: Option<&str>,
    at: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    if at.is_some() {
        let st = reg.state_at(group, at)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&st)?);
            return Ok(());
        }
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
        return Ok(());
    }
    let events = reg.history(group, None)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    for e in events {
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
    Ok(())
}

/// Runs `sentio registry …`.
pub fn run(args: RegistryArgs) -> anyhow::Result<()> {
    let stores = args.home.home().open_stores()?;
    let reg = stores.registry();
    match args.command {
        RegistryCommand::List { group, json } => {
            let versions = reg.list(group.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&versions)?);
            } else {
                list(&versions);
            }
        }
        RegistryCommand::Describe { version, json } => describe(&reg, &version, json)?,
        RegistryCommand::Approve(d) => {
            let v = reg.approve(&d.version, &d.by, &d.note)?;
            println!("{}/{} {} is {}", v.group, v.number, v.version, v.status);
        }
        RegistryCommand::Reject(d) => {
            let v = reg.reject(&d.version, &d.by, &d.note)?;
            println!("{}/{} {} is {}", v.group, v.number, v.version, v.status);
        }
        RegistryCommand::History { group, at, json } => {
            history(&reg, group.as_deref(), at.as_deref(), json)?
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
        for argv in [
            ["x", "--home", "/tmp/h", "list", "--json"],
            ["x", "list", "--json", "--home", "/tmp/h"],
        ] {
            let c = Cli::try_parse_from(argv).unwrap();
            assert_eq!(c.args.home.home, std::path::Path::new("/tmp/h"));
            assert!(matches!(
                c.args.command,
                RegistryCommand::List { json: true, .. }
            ));
        }
    }
}
