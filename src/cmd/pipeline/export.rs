//! `sentio pipeline export --format argo`: the pipeline as a workflow for an engine that
//! runs its steps with `sentio pipeline run-step`.
use super::SourceArgs;
use anyhow::Context;
use pipeline::export::{argo_workflow, ArgoOptions};
use pipeline::{params, PipelineDef};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// An Argo Workflows `Workflow` (JSON; `argo submit` and `kubectl create -f` take it).
    Argo,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The workflow engine's format.
    #[arg(long, value_enum, default_value = "argo")]
    pub format: ExportFormat,
    /// Pipeline and parameters; the values given become the workflow parameters' defaults.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Container image with `sentio` on its PATH.
    #[arg(long, default_value = concat!("sentio:", env!("CARGO_PKG_VERSION")), value_name = "IMAGE")]
    pub image: String,
    /// Secret whose keys are the pods' environment: SENTIO_DATABASE_URL,
    /// SENTIO_ARTIFACT_STORE and the AWS_* variables of the object store.
    #[arg(long, default_value = "sentio-stores", value_name = "NAME")]
    pub secret: String,
    /// Retries of a failed step (fail steps are not retried).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub retries: u32,
    /// PersistentVolumeClaim with the data files, mounted read-only at --data-mount
    /// [default: none].
    #[arg(long, value_name = "CLAIM")]
    pub data_claim: Option<String>,
    /// Where --data-claim is mounted.
    #[arg(long, default_value = "/data", value_name = "PATH")]
    pub data_mount: String,
    /// Service account of the workflow's pods [default: the namespace's default].
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// Write to FILE [default: standard output].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn export(a: ExportArgs) -> anyhow::Result<()> {
    let (def, text) = match &a.source.definition {
        Some(p) => (
            PipelineDef::from_file(p)?,
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        ),
        None => (
            PipelineDef::default_pipeline(),
            pipeline::DEFAULT_PIPELINE.to_string(),
        ),
    };
    let typed = match &a.source.params_file {
        Some(p) => params::read_file(p)?,
        None => BTreeMap::new(),
    };
    let src = a.source.source()?;
    let values = params::resolve(&def.parameters, &typed, &src.overrides)?;
    let opts = ArgoOptions {
        image: a.image,
        secret: a.secret,
        retries: a.retries,
        data_claim: a.data_claim,
        data_mount: a.data_mount,
        service_account: a.service_account,
    };
    let workflow = match a.format {
        ExportFormat::Argo => argo_workflow(&def, &text, &values, &opts)?,
    };
    let json = serde_json::to_string_pretty(&workflow)? + "\n";
    match &a.out {
        Some(p) => std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}
