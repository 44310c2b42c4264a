//! A whole training job: read → validate → split → train → evaluate → artifact.
use crate::data::{load_table, DataConfig, Dataset, DropCounts, Table};
use crate::error::{Result, TrainError};
use crate::metrics::Evaluation;
use crate::split::{split, SplitConfig, Splits};
use crate::trainer::{evaluate_model, train, TrainConfig, TrainOutcome};
use crate::validate::{validate, ValidationConfig, ValidationReport};
use models::artifact::{self, Artifact, ArtifactWriter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainJob {
    pub data: DataConfig,
    pub validation: ValidationConfig,
    pub split: SplitConfig,
    pub train: TrainConfig,
    pub out: PathBuf,
}

/// Data read and checked, ready to split.
pub struct Prepared {
    pub table: Table,
    pub dataset: Dataset,
    pub drops: DropCounts,
    pub report: ValidationReport,
}

/// Reads and validates the data; a failed check is an error naming column and numbers.
pub fn prepare(data: &DataConfig, vc: &ValidationConfig) -> Result<Prepared> {
    let table = load_table(data)?;
    let (dataset, drops) = match Dataset::from_table(&table, data) {
        Ok(x) => x,
        Err(TrainError::MissingColumn { .. }) => {
            let report = validate(&table, data, None, vc);
            return Err(TrainError::Validation(report.summary()));
        }
        Err(e) => return Err(e),
    };
    let report = validate(&table, data, Some((&dataset, &drops)), vc);
    if !report.passed {
        return Err(TrainError::Validation(report.summary()));
    }
    if drops.missing_text + drops.missing_label > 0 {
        tracing::warn!(
            missing_text = drops.missing_text,
            missing_label = drops.missing_label,
            kept = drops.kept,
            "rows dropped"
        );
    }
    Ok(Prepared {
        table,
        dataset,
        drops,
        report,
    })
}

pub struct JobResult {
    pub artifact: Artifact,
    pub evaluation: Evaluation,
    pub validation: ValidationReport,
    pub splits: (usize, usize, usize),
    pub train_seconds: f64,
    pub examples_per_sec: f64,
}

/// Writes a trained model with its evaluation (`evaluation.json` and `evaluation.html`) and
/// metadata as an artifact.
pub fn write_artifact(
    out: &std::path::Path,
    outcome: &TrainOutcome,
    evaluation: &Evaluation,
    metadata: serde_json::Value,
) -> Result<Artifact> {
    let mut w = ArtifactWriter::new(out)?;
    outcome.model.save_into(&mut w)?;
    w.write_json(artifact::EVALUATION, &evaluation.to_json())?;
    let split = metadata
        .pointer("/data/evaluation_split")
        .and_then(|v| v.as_str())
        .unwrap_or("test");
    let context = vec![
        ("model version".to_string(), w.version()),
        ("evaluated on".to_string(), format!("the {split} split")),
    ];
    let page = crate::report::evaluation_page(evaluation, Some(&metadata), context);
    w.write_bytes(artifact::EVALUATION_HTML, page.as_bytes())?;
    w.write_json(artifact::METADATA, &metadata)?;
    Ok(w.finish()?)
}

/// Metadata recorded with a model: versions, data, hyperparameters, training record.
pub fn metadata(
    cfg: &TrainConfig,
    outcome: &TrainOutcome,
    data: serde_json::Value,
) -> Result<serde_json::Value> {
    let tok = outcome.model.tokenizer.to_json()?;
    Ok(serde_json::json!({
        "versions": models::versions(),
        "git_commit": option_env!("SENTIO_GIT_COMMIT"),
        "architecture": outcome.model.config.model.name(),
        "hyperparameters": cfg,
        "device": outcome.device,
        "tokenizer_digest": hex::encode(Sha256::digest(tok.as_bytes())),
        "data": data,
        "training": {
            "history": outcome.history,
            "best_epoch": outcome.best_epoch,
            "seconds": outcome.train_seconds,
            "examples_per_sec": outcome.examples_per_sec,
        },
        "created_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    }))
}

/// Runs the whole job.
pub fn run(job: &TrainJob) -> Result<JobResult> {
    let p = prepare(&job.data, &job.validation)?;
    let Splits {
        train: tr,
        validation: va,
        test: te,
    } = split(&p.dataset, &job.split)?;
    let outcome = train(&job.train, &tr, &va)?;
    let evaluation = evaluate_model(&outcome.model, &te)?;
    let data = serde_json::json!({
        "path": job.data.path,
        "digest": p.table.digest,
        "text_columns": job.data.text_columns,
        "label_column": job.data.label_column,
        "mapping": job.data.mapping,
        "rows": p.drops,
        "split": {"seed": job.split.seed, "train": tr.len(), "validation": va.len(), "test": te.len()},
        "class_counts": p.dataset.class_counts(),
    });
    let meta = metadata(&job.train, &outcome, data)?;
    let mut meta = meta;
    meta["validation"] = serde_json::to_value(&p.report).unwrap_or_default();
    let artifact = write_artifact(&job.out, &outcome, &evaluation, meta)?;
    Ok(JobResult {
        artifact,
        evaluation,
        validation: p.report,
        splits: (tr.len(), va.len(), te.len()),
        train_seconds: outcome.train_seconds,
        examples_per_sec: outcome.examples_per_sec,
    })
}
