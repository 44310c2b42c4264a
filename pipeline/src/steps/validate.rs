//! validate: reads the data file, runs the data checks and writes the dataset with mapped
//! labels (`dataset.jsonl`, `labels.json`) plus `validation.json` and `data.json` (path,
//! digest, row counts) for lineage.
use super::{overlay, write_json, write_split, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{json, Map, Value};
use train::{DataConfig, LabelMapping, ValidationConfig};

const DATA_KEYS: [&str; 3] = ["text_columns", "label_column", "mapping"];

fn data_config(
    cfg: &Map<String, Value>,
    path: &std::path::Path,
) -> std::result::Result<DataConfig, String> {
    let mut d = DataConfig::new(path);
    match cfg.get("text_columns") {
        None => {}
        Some(Value::String(s)) => {
            d.text_columns = s
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        }
        Some(v) => {
            d.text_columns = serde_json::from_value(v.clone())
                .map_err(|_| "text_columns must be a string or a list of strings".to_string())?
        }
    }
    if let Some(v) = cfg.get("label_column") {
        d.label_column = v
            .as_str()
            .ok_or("label_column must be a string")?
            .to_string();
    }
    if let Some(v) = cfg.get("mapping") {
        d.mapping = serde_json::from_value::<LabelMapping>(v.clone())
            .map_err(|_| format!("mapping must be sentiment or identity, got {v}"))?;
    }
    if d.text_columns.is_empty() {
        return Err("at least one text column is needed".into());
    }
    Ok(d)
}

pub(super) fn check(cfg: &Map<String, Value>) -> std::result::Result<(), String> {
    data_config(cfg, std::path::Path::new("x.csv"))?;
    overlay(&ValidationConfig::default(), cfg, &DATA_KEYS)?;
    Ok(())
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    let path = ctx.input("data")?;
    let data = data_config(&ctx.config, path).map_err(|m| ctx.fail(m))?;
    let vc =
        overlay(&ValidationConfig::default(), &ctx.config, &DATA_KEYS).map_err(|m| ctx.fail(m))?;
    let p = train::job::prepare(&data, &vc)?;
    ctx.log(format!(
        "{}: {} rows read, {} kept ({} without text, {} without label)",
        path.display(),
        p.drops.rows_read,
        p.drops.kept,
        p.drops.missing_text,
        p.drops.missing_label
    ));
    ctx.log(p.report.summary());
    let out = ctx.output_dir("dataset")?;
    write_split(&out, &p.dataset)?;
    write_json(
        &out.join("validation.json"),
        &serde_json::to_value(&p.report).unwrap_or_default(),
    )?;
    let info = json!({
        "path": path,
        "digest": p.table.digest,
        "text_columns": data.text_columns,
        "label_column": data.label_column,
        "mapping": data.mapping,
        "rows": p.drops,
        "labels": p.dataset.label_names,
        "class_counts": p.dataset.class_counts(),
    });
    write_json(&out.join("data.json"), &info)?;
    Ok(StepOutcome {
        properties: json!({"data_digest": p.table.digest, "rows": p.drops, "passed": p.report.passed}),
        ..Default::default()
    })
}
