//! Retraining from lineage: rerun the pipeline that produced a registered version — its
//! definition and parameters as the metadata store recorded them — on the data configured
//! for retraining (the original data file, or a new file or folder) plus, when given,
//! labelled examples gathered in production (ground truth joined with captured texts).
//!
//! The training data is written once, content-addressed, under `<home>/retrain-data/`, in
//! the original data's own columns (an example's label goes back through the label
//! mapping: `positive` → `5` for the sentiment mapping), so the definition, its steps and
//! every other parameter stay exactly as they were; only the data parameter changes.
//! Texts are de-duplicated (a later row — production feedback last — wins). The execution's
//! trigger records why it ran, from which version, on what data.
use crate::definition::{PipelineDef, StepDef};
use crate::error::{PipelineError, Result};
use crate::executor::{execute, ExecutionSummary, ExecutorConfig, RunRequest};
use crate::params::ParamValue;
use crate::steps::StepConfig;
use crate::store::Stores;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use train::DataConfig;

/// What to retrain, on what, and why.
#[derive(Debug, Clone, Default)]
pub struct RetrainRequest {
    /// The version whose lineage is rerun (`sha256-…` or `group/N`).
    pub version: String,
    /// Why (a drift violation and its window, a count of new labels, a schedule, a person).
    pub reason: String,
    /// New data: a data file, or a folder whose data files are all read (files added since
    /// the last retraining are picked up). `None`: the version's own data file.
    pub data: Option<PathBuf>,
    /// Labelled examples from production, `(text, label)` with labels among the model's
    /// classes.
    pub examples: Vec<(String, String)>,
    /// `name=value` overrides of the recorded parameters (e.g. `auto_approve=true`).
    pub overrides: Vec<(String, String)>,
}

/// The data a retraining run gets.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrainData {
    pub path: PathBuf,
    /// Rows from the data source(s).
    pub source_rows: usize,
    /// Examples from production.
    pub examples: usize,
    /// Rows dropped because a later row (or example) has the same text.
    pub duplicates: usize,
}

/// The data-reading settings of a definition: the validate step's typed configuration
/// and the parameter that names its data file.
fn data_settings(
    def: &PipelineDef,
    values: &crate::params::ParamValues,
) -> Result<(String, DataConfig)> {
    let plan = def.plan(values)?;
    let step: &StepDef = def
        .steps
        .iter()
        .find(|s| s.kind == crate::steps::StepKind::Validate)
        .ok_or_else(|| PipelineError::Definition("no validate step to read the data of".into()))?;
    let param = step
        .inputs
        .get("data")
        .and_then(|r| r.strip_prefix("params."))
        .ok_or_else(|| {
            PipelineError::Definition(format!(
                "step {:?} does not read its data from a parameter",
                step.name
            ))
        })?
        .to_string();
    let planned = plan
        .index(&step.name)
        .map(|i| &plan.steps[i].config)
        .ok_or_else(|| PipelineError::Definition(format!("step {:?} is not planned", step.name)))?;
    let StepConfig::Validate(v) = planned else {
        return Err(PipelineError::Definition(format!(
            "step {:?} is not a validate step",
            step.name
        )));
    };
    let mut cfg = DataConfig::new("");
    cfg.text_columns = v.text_columns.clone();
    cfg.label_column = v.label_column.clone();
    cfg.mapping = v.mapping;
    Ok((param, cfg))
}

/// The data files of a source: the file, or every data file of a folder (sorted).
fn source_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| PipelineError::io(path, e))? {
        let p = entry.map_err(|e| PipelineError::io(path, e))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_file() && !name.starts_with('.') && train::data::Format::detect(&p).is_ok() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(PipelineError::NotFound {
            what: "data file in folder",
            id: path.display().to_string(),
        });
    }
    Ok(files)
}

/// Writes the retraining data: the source rows, then the examples, each text once (the
/// last occurrence kept), in the source's columns, as JSON lines under `dir`, named by
/// their digest.
pub fn write_retrain_data(
    dir: &Path,
    sources: &[PathBuf],
    data: &DataConfig,
    examples: &[(String, String)],
) -> Result<RetrainData> {
    let body = data
        .text_columns
        .last()
        .cloned()
        .ok_or_else(|| PipelineError::Definition("no text column".into()))?;
    let mut rows: Vec<(String, serde_json::Map<String, serde_json::Value>)> = Vec::new();
    for path in sources {
        let table = train::load_table(&DataConfig {
            path: path.clone(),
            ..data.clone()
        })?;
        let text_idx: Vec<(String, usize)> = data
            .text_columns
            .iter()
            .filter_map(|c| table.column(c).ok().map(|i| (c.clone(), i)))
            .collect();
        let label_idx = table.column(&data.label_column)?;
        let cell = |row: &[Option<String>], i: usize| {
            row.get(i)
                .and_then(|v| v.as_deref())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        for row in &table.rows {
            let Some(label) = cell(row, label_idx) else {
                continue;
            };
            let texts: Vec<(String, String)> = text_idx
                .iter()
                .filter_map(|(c, i)| cell(row, *i).map(|t| (c.clone(), t)))
                .collect();
            if texts.is_empty() {
                continue;
            }
            // The text the model sees: the text columns joined as training joins them.
            let key = texts
                .iter()
                .map(|t| t.1.as_str())
                .collect::<Vec<_>>()
                .join(". ");
            let mut obj: serde_json::Map<String, serde_json::Value> =
                texts.into_iter().map(|(c, t)| (c, t.into())).collect();
            obj.insert(data.label_column.clone(), label.into());
            rows.push((key, obj));
        }
    }
    let source_rows = rows.len();
    for (text, label) in examples {
        let raw = data
            .mapping
            .raw_of(label)
            .ok_or_else(|| PipelineError::Parameter {
                name: "examples".into(),
                message: format!("label {label:?} is not one of the mapping's classes"),
            })?;
        let mut obj = serde_json::Map::new();
        obj.insert(body.clone(), text.clone().into());
        obj.insert(data.label_column.clone(), raw.into());
        rows.push((text.clone(), obj));
    }
    // Each text once: the last occurrence wins.
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, (t, _)) in rows.iter().enumerate() {
        last.insert(t.trim().to_lowercase(), i);
    }
    let mut out = Vec::new();
    let mut kept = 0;
    for (i, (t, obj)) in rows.iter().enumerate() {
        if last.get(&t.trim().to_lowercase()) == Some(&i) {
            serde_json::to_writer(&mut out, obj)
                .map_err(|e| PipelineError::json("retrain data", e))?;
            out.push(b'\n');
            kept += 1;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| PipelineError::io(dir, e))?;
    let digest = hex::encode(Sha256::digest(&out));
    let path = dir.join(format!("{}.jsonl", &digest[..16]));
    if !path.exists() {
        let tmp = dir.join(format!(".{}.{}.tmp", &digest[..16], std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
        f.write_all(&out).map_err(|e| PipelineError::io(&tmp, e))?;
        f.sync_all().map_err(|e| PipelineError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| PipelineError::io(&path, e))?;
    }
    Ok(RetrainData {
        path,
        source_rows,
        examples: examples.len(),
        duplicates: rows.len() - kept,
    })
}

/// Reruns the pipeline of `req.version` on the retraining data (see the module).
pub fn retrain_from_lineage(
    cfg: &ExecutorConfig,
    stores: &Stores,
    req: &RetrainRequest,
) -> Result<(ExecutionSummary, RetrainData)> {
    let version =
        stores
            .metadata
            .version(&req.version)?
            .ok_or_else(|| PipelineError::NotFound {
                what: "model version",
                id: req.version.clone(),
            })?;
    let execution = stores
        .metadata
        .execution(&version.execution_id)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "execution",
            id: version.execution_id.clone(),
        })?;
    let definition: PipelineDef = serde_json::from_value(execution.definition.clone())
        .map_err(|e| PipelineError::json("the recorded definition", e))?;
    let mut values: BTreeMap<String, ParamValue> =
        serde_json::from_value(execution.parameters.clone())
            .map_err(|e| PipelineError::json("the recorded parameters", e))?;
    let (param, data_cfg) = data_settings(&definition, &values)?;
    let source = match (&req.data, values.get(&param)) {
        (Some(p), _) => p.clone(),
        (None, Some(ParamValue::String(p))) => PathBuf::from(p),
        (None, _) => {
            return Err(PipelineError::Parameter {
                name: param,
                message: "the version's execution recorded no data file; give the retraining data"
                    .into(),
            })
        }
    };
    let data = write_retrain_data(
        &cfg.home.root().join("retrain-data"),
        &source_files(&source)?,
        &data_cfg,
        &req.examples,
    )?;
    values.insert(param, ParamValue::String(data.path.display().to_string()));
    let trigger = format!(
        "retrain of {}/{} ({}): {}; data {} ({} rows) + {} labelled examples from production",
        version.group,
        version.number,
        version.version,
        req.reason,
        source.display(),
        data.source_rows,
        data.examples
    );
    tracing::info!(%trigger, "retraining from lineage");
    let summary = execute(
        cfg,
        stores,
        &RunRequest {
            definition,
            values,
            overrides: req.overrides.clone(),
            trigger,
        },
    )?;
    Ok((summary, data))
}
