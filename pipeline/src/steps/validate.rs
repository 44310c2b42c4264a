//! validate: reads the data file, runs the data checks and writes the dataset with mapped
//! labels (`dataset.jsonl`, `labels.json`) plus `validation.json` and `data.json` (path,
//! digest, row counts) for lineage.
use super::{write_json, write_split, StepContext, StepOutcome};
use crate::error::Result;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use train::{DataConfig, LabelMapping, ValidationConfig};

/// Which columns hold text and label, how labels map to classes, and the data checks'
/// thresholds ([`ValidationConfig`]); settings left out take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ValidateSettings")]
pub struct ValidateConfig {
    /// Text column(s), body last (`"Title,Review Text"` or a list).
    pub text_columns: Vec<String>,
    pub label_column: String,
    pub mapping: LabelMapping,
    pub max_missing_share: f64,
    pub max_imbalance_ratio: f64,
    pub min_class_share: f64,
    pub max_duplicate_share: f64,
    pub min_rows: usize,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        let d = DataConfig::new("");
        let v = ValidationConfig::default();
        ValidateConfig {
            text_columns: d.text_columns,
            label_column: d.label_column,
            mapping: d.mapping,
            max_missing_share: v.max_missing_share,
            max_imbalance_ratio: v.max_imbalance_ratio,
            min_class_share: v.min_class_share,
            max_duplicate_share: v.max_duplicate_share,
            min_rows: v.min_rows,
        }
    }
}

/// [`ValidateConfig`] as written: `text_columns` may be one comma-separated string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateSettings {
    #[serde(default, deserialize_with = "text_columns")]
    text_columns: Option<Vec<String>>,
    label_column: Option<String>,
    mapping: Option<LabelMapping>,
    max_missing_share: Option<f64>,
    max_imbalance_ratio: Option<f64>,
    min_class_share: Option<f64>,
    max_duplicate_share: Option<f64>,
    min_rows: Option<usize>,
}

fn text_columns<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Columns {
        Joined(String),
        List(Vec<String>),
    }
    let list = match Columns::deserialize(d).map_err(|_| {
        serde::de::Error::custom("text_columns must be a string or a list of strings")
    })? {
        Columns::Joined(s) => s
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        Columns::List(l) => l,
    };
    Ok(Some(list))
}

impl TryFrom<ValidateSettings> for ValidateConfig {
    type Error = String;
    fn try_from(s: ValidateSettings) -> std::result::Result<Self, String> {
        let d = ValidateConfig::default();
        let c = ValidateConfig {
            text_columns: s.text_columns.unwrap_or(d.text_columns),
            label_column: s.label_column.unwrap_or(d.label_column),
            mapping: s.mapping.unwrap_or(d.mapping),
            max_missing_share: s.max_missing_share.unwrap_or(d.max_missing_share),
            max_imbalance_ratio: s.max_imbalance_ratio.unwrap_or(d.max_imbalance_ratio),
            min_class_share: s.min_class_share.unwrap_or(d.min_class_share),
            max_duplicate_share: s.max_duplicate_share.unwrap_or(d.max_duplicate_share),
            min_rows: s.min_rows.unwrap_or(d.min_rows),
        };
        if c.text_columns.is_empty() {
            return Err("at least one text column is needed".into());
        }
        Ok(c)
    }
}

impl ValidateConfig {
    fn data(&self, path: &std::path::Path) -> DataConfig {
        DataConfig {
            text_columns: self.text_columns.clone(),
            label_column: self.label_column.clone(),
            mapping: self.mapping,
            ..DataConfig::new(path)
        }
    }

    fn checks(&self) -> ValidationConfig {
        ValidationConfig {
            max_missing_share: self.max_missing_share,
            max_imbalance_ratio: self.max_imbalance_ratio,
            min_class_share: self.min_class_share,
            max_duplicate_share: self.max_duplicate_share,
            min_rows: self.min_rows,
        }
    }
}

pub(super) fn run(ctx: &StepContext, cfg: &ValidateConfig) -> Result<StepOutcome> {
    let path = ctx.input("data")?;
    let data = cfg.data(path);
    let p = train::job::prepare(&data, &cfg.checks())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_once_with_defaults_and_checks() {
        let c: ValidateConfig = serde_json::from_value(json!({
            "text_columns": "Title, Review Text", "max_duplicate_share": 0.5
        }))
        .unwrap();
        assert_eq!(c.text_columns, vec!["Title", "Review Text"]);
        assert_eq!(c.max_duplicate_share, 0.5);
        assert_eq!(c.min_rows, ValidationConfig::default().min_rows);
        let e = serde_json::from_value::<ValidateConfig>(json!({"text_columns": ""}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one text column"), "{e}");
        let e = serde_json::from_value::<ValidateConfig>(json!({"max_dup": 0.5}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `max_dup`"), "{e}");
    }
}
