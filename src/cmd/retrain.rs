//! Retraining from lineage as the binary runs it — for the endpoint's monitor schedule
//! (`serve::Retrainer`), `sentio monitor run --retrain` and `sentio pipeline retrain
//! VERSION`: the version's pipeline and parameters on its data (or new data), plus, when
//! asked, the ground truth gathered through `/feedback` joined with the captured texts.
use anyhow::Context;
use monitoring::quality::{labelled_examples, Labelled};
use pipeline::{ExecutionSummary, ExecutorConfig, Home, RetrainData, RetrainRequest};
use std::path::{Path, PathBuf};

/// How retraining runs.
#[derive(Debug, Clone)]
pub struct RetrainSettings {
    pub home: PathBuf,
    /// New data: a data file, or a folder whose data files are all read.
    pub data: Option<PathBuf>,
    /// Use the ground truth gathered in production.
    pub with_feedback: bool,
    /// Register the new version as Approved (it still has to pass the gate).
    pub auto_approve: bool,
    /// `name=value` parameter overrides.
    pub overrides: Vec<(String, String)>,
}

/// What one retraining did.
pub struct Done {
    pub summary: ExecutionSummary,
    pub data: RetrainData,
    pub labelled: Option<Labelled>,
}

/// Labelled examples from an endpoint's capture and feedback, with the classes of the
/// model version being retrained.
fn production_examples(
    home: &Home,
    version: &str,
    capture: &Path,
    feedback: &Path,
) -> anyhow::Result<Labelled> {
    let stores = home.open_stores()?;
    let v = stores
        .metadata
        .version(version)?
        .with_context(|| format!("model version {version} is not registered"))?;
    let dir = stores.registry().artifact_dir(&v)?;
    let classes: Vec<String> = serde_json::from_slice(
        &std::fs::read(dir.join("labels.json")).with_context(|| format!("{}", dir.display()))?,
    )?;
    let captures = if capture.exists() {
        monitoring::capture::read_dir(capture).with_context(|| format!("{}", capture.display()))?
    } else {
        Vec::new()
    };
    let truth = if feedback.exists() {
        monitoring::feedback::read_feedback(feedback)?.records
    } else {
        Vec::new()
    };
    Ok(labelled_examples(&captures, &truth, &classes))
}

/// Retrains `version` for `reason`.
pub fn retrain(
    s: &RetrainSettings,
    version: &str,
    reason: &str,
    capture: Option<&Path>,
    feedback: Option<&Path>,
) -> anyhow::Result<Done> {
    let home = crate::cmd::home::home_at(s.home.clone());
    let labelled = match (s.with_feedback, capture, feedback) {
        (true, Some(c), Some(f)) => Some(production_examples(&home, version, c, f)?),
        (true, _, _) => {
            anyhow::bail!("retraining with feedback needs the capture and feedback folders")
        }
        _ => None,
    };
    let mut overrides = s.overrides.clone();
    if s.auto_approve {
        overrides.push(("auto_approve".into(), "true".into()));
    }
    let request = RetrainRequest {
        version: version.to_string(),
        reason: reason.to_string(),
        data: s.data.clone(),
        examples: labelled
            .as_ref()
            .map(|l| l.examples.clone())
            .unwrap_or_default(),
        overrides,
    };
    let stores = home.open_stores()?;
    let (summary, data) =
        pipeline::retrain_from_lineage(&ExecutorConfig::new(home.clone()), &stores, &request)?;
    Ok(Done {
        summary,
        data,
        labelled,
    })
}

/// The endpoint's retraining: [`retrain`] with these settings.
pub struct PipelineRetrainer(pub RetrainSettings);

impl serve::Retrainer for PipelineRetrainer {
    fn retrain(
        &self,
        r: &serve::schedule::RetrainRequest,
    ) -> Result<serve::schedule::Retrained, String> {
        let done = retrain(
            &self.0,
            &r.model_version,
            &r.reason,
            r.capture_dir.as_deref(),
            r.feedback_dir.as_deref(),
        )
        .map_err(|e| format!("{e:#}"))?;
        let model = done
            .summary
            .registered
            .as_ref()
            .map(|v| serve::schedule::RetrainedModel {
                version: v.version.clone(),
                reference: format!("registry:{}:{}", v.group, v.version),
                approved: v.status == pipeline::ApprovalStatus::Approved,
            });
        Ok(serve::schedule::Retrained {
            execution: done.summary.id.clone(),
            status: format!("{:?}", done.summary.status),
            model,
        })
    }
}

/// `sentio pipeline retrain VERSION`.
#[derive(Debug, clap::Args)]
pub struct RetrainArgs {
    /// The registered version to retrain (`sha256-…` or `GROUP/N`).
    pub version: String,
    /// Why (recorded in the execution's lineage).
    #[arg(long, default_value = "manual retraining")]
    pub reason: String,
    /// New data: a data file, or a folder whose data files are all read (default: the
    /// version's own data file).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// An endpoint's capture folder (capture/<endpoint>): with --feedback, its texts
    /// labelled by ground truth join the training data.
    #[arg(long, requires = "feedback")]
    pub capture: Option<PathBuf>,
    /// The endpoint's feedback folder or file (<state>/feedback/<endpoint>).
    #[arg(long, requires = "capture")]
    pub feedback: Option<PathBuf>,
    /// Register the new version as Approved (it still has to pass the quality gate).
    #[arg(long)]
    pub auto_approve: bool,
    /// A parameter override NAME=VALUE (repeatable).
    #[arg(short = 'p', long = "param", value_parser = parse_pair)]
    pub params: Vec<(String, String)>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

pub fn run_cli(home: &Home, a: RetrainArgs) -> anyhow::Result<()> {
    let settings = RetrainSettings {
        home: home.root().to_path_buf(),
        data: a.data,
        with_feedback: a.capture.is_some(),
        auto_approve: a.auto_approve,
        overrides: a.params,
    };
    let done = retrain(
        &settings,
        &a.version,
        &a.reason,
        a.capture.as_deref(),
        a.feedback.as_deref(),
    )?;
    print(&done, a.json)?;
    match done.summary.failure_reason {
        Some(r) => anyhow::bail!("retraining execution {} failed: {r}", done.summary.id),
        None => Ok(()),
    }
}

/// Prints what a retraining did.
pub fn print(done: &Done, json: bool) -> anyhow::Result<()> {
    let s = &done.summary;
    if json {
        let v = serde_json::json!({
            "execution": s,
            "data": {
                "path": done.data.path,
                "source_rows": done.data.source_rows,
                "examples": done.data.examples,
                "duplicates": done.data.duplicates,
            },
            "labelled": done.labelled.as_ref().map(|l| serde_json::json!({
                "examples": l.examples.len(),
                "unknown_ids": l.unknown_ids,
                "unmatched_instances": l.unmatched_instances,
                "invalid_labels": l.invalid_labels,
                "duplicate_texts": l.duplicate_texts,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "retraining execution {} {:?}: {} rows of data + {} labelled examples from production ({} duplicate texts dropped)",
        s.id, s.status, done.data.source_rows, done.data.examples, done.data.duplicates
    );
    if let Some(l) = &done.labelled {
        println!(
            "  ground truth: {} examples; {} ids without a captured request, {} invalid labels, {} instances unmatched",
            l.examples.len(),
            l.unknown_ids,
            l.invalid_labels,
            l.unmatched_instances
        );
    }
    match &s.registered {
        Some(v) => println!(
            "registered {}/{} = {} ({})",
            v.group, v.number, v.version, v.status
        ),
        None => println!("no version registered"),
    }
    Ok(())
}
