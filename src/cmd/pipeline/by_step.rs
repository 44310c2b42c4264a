//! `sentio pipeline plan | run-step | finish`: an execution whose steps run as separate
//! processes, each from the shared stores, so any engine can run the DAG (see
//! `sentio pipeline export --format argo`).
use super::{outcome, print_summary, ExecArgs, SourceArgs};
use crate::cmd::home::HomeArgs;
use anyhow::Context;
use pipeline::executor;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Execution id (e.g. the workflow's name); planning the same id again with the same
    /// definition and parameters is a no-op [default: a new id].
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Write the execution id to DIR/execution, for a workflow engine [default: none].
    #[arg(long, value_name = "DIR")]
    pub outputs_dir: Option<PathBuf>,
    /// Print the execution as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunStepArgs {
    /// Execution id (or a unique prefix) made by `pipeline plan`.
    pub execution: String,
    /// The step to run.
    pub step: String,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Write the step's status to DIR/status and a condition's outcome (true/false) to
    /// DIR/outcome, for a workflow engine [default: none].
    #[arg(long, value_name = "DIR")]
    pub outputs_dir: Option<PathBuf>,
    /// Print the step's result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct FinishArgs {
    /// Execution id (or a unique prefix) made by `pipeline plan`.
    pub execution: String,
    /// Print the execution summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn write_output(dir: &Path, name: &str, value: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let p = dir.join(name);
    std::fs::write(&p, value).with_context(|| format!("writing {}", p.display()))
}

pub fn plan(home: &HomeArgs, a: PlanArgs) -> anyhow::Result<()> {
    let cfg = ExecArgs::default_config(home);
    let req = a.source.source()?.request("planned")?;
    let rec = executor::plan(&cfg, &home.home().open_stores()?, &req, a.id.as_deref())?;
    if let Some(dir) = &a.outputs_dir {
        write_output(dir, "execution", &rec.id)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rec)?);
    } else {
        println!("{}", rec.id);
    }
    Ok(())
}

pub fn run_step(home: &HomeArgs, a: RunStepArgs) -> anyhow::Result<()> {
    let cfg = a.exec.config(home);
    let r = executor::run_step(&cfg, &home.home().open_stores()?, &a.execution, &a.step)?;
    if let Some(dir) = &a.outputs_dir {
        write_output(dir, "status", r.step.status.as_str())?;
        if let Some(o) = r.outcome {
            write_output(dir, "outcome", &o.to_string())?;
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let s = &r.step;
        println!(
            "execution {} step {}: {} in {:.2}s  {}",
            r.execution,
            s.name,
            s.status,
            s.duration_s,
            s.failure_reason
                .as_deref()
                .or(s.decision.as_deref())
                .unwrap_or("")
        );
    }
    match &r.step.failure_reason {
        Some(reason) if r.step.status == pipeline::StepStatus::Failed => {
            if reason.starts_with("step ") {
                anyhow::bail!("{reason}")
            }
            anyhow::bail!("step {:?} failed: {reason}", r.step.name)
        }
        _ => Ok(()),
    }
}

pub fn finish(home: &HomeArgs, a: FinishArgs) -> anyhow::Result<()> {
    let cfg = ExecArgs::default_config(home);
    let s = executor::finish(&cfg, &home.home().open_stores()?, &a.execution)?;
    print_summary(&s, a.json)?;
    outcome(&s)
}
