//! Reading labelled text data (CSV or jsonlines, optionally gzip-compressed) and mapping
//! raw label values to classes.
use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// From the file name: `.csv`, `.jsonl`/`.json`/`.ndjson`, each optionally `.gz`.
    pub fn detect(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") {
            Ok(Format::Csv)
        } else if name.ends_with(".jsonl") || name.ends_with(".json") || name.ends_with(".ndjson") {
            Ok(Format::Jsonl)
        } else {
            Err(TrainError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    }
}

/// How raw label values become classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LabelMapping {
    /// Star ratings 1–5: 1–2 negative, 3 neutral, 4–5 positive (the reference workflow's
    /// mapping).
    #[default]
    Sentiment,
    /// The raw values are the class names (sorted).
    Identity,
}

pub const SENTIMENT_LABELS: [&str; 3] = ["negative", "neutral", "positive"];

impl LabelMapping {
    /// The raw label value a class name comes from, for writing a class back into data
    /// read with this mapping (`positive` → `5` for the sentiment mapping).
    pub fn raw_of(self, class: &str) -> Option<String> {
        match self {
            LabelMapping::Identity => Some(class.to_string()),
            LabelMapping::Sentiment => match class {
                "negative" => Some("1".into()),
                "neutral" => Some("3".into()),
                "positive" => Some("5".into()),
                _ => None,
            },
        }
    }

    fn map(self, raw: &str) -> Option<String> {
        match self {
            LabelMapping::Identity => Some(raw.to_string()),
            LabelMapping::Sentiment => {
                let v: f64 = raw.trim().parse().ok()?;
                if v.fract() != 0.0 {
                    return None;
                }
                match v as i64 {
                    1 | 2 => Some("negative".into()),
                    3 => Some("neutral".into()),
                    4 | 5 => Some("positive".into()),
                    _ => None,
                }
            }
        }
    }
}

/// The default text: the review's title (when present) and its body.
pub fn default_text_columns() -> Vec<String> {
    vec!["Title".into(), "Review Text".into()]
}

/// Where the data is and which columns hold text and label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataConfig {
    pub path: PathBuf,
    /// Detected from the extension when absent.
    pub format: Option<Format>,
    /// Text column(s), joined with ". " when several (e.g. title and body). The last one is
    /// the body and is required; the ones before it are optional.
    pub text_columns: Vec<String>,
    pub label_column: String,
    pub mapping: LabelMapping,
}

impl DataConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DataConfig {
            path: path.into(),
            format: None,
            text_columns: default_text_columns(),
            label_column: "Rating".into(),
            mapping: LabelMapping::Sentiment,
        }
    }
}

/// A table of optional string cells, as read from the file.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// 1-based line in the file where each row starts.
    pub lines: Vec<u64>,
    /// Blank lines skipped (jsonlines).
    pub blank_lines: usize,
    /// sha256 of the file's bytes.
    pub digest: String,
}

impl Table {
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| TrainError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                available: self
                    .columns
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

fn open(path: &Path) -> Result<(Vec<u8>, String)> {
    let raw = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let digest = hex::encode(Sha256::digest(&raw));
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| TrainError::io(path, e))?;
        out
    } else {
        raw
    };
    Ok((bytes, digest))
}

/// Reads a whole table.
pub fn load_table(cfg: &DataConfig) -> Result<Table> {
    let format = match cfg.format {
        Some(f) => f,
        None => Format::detect(&cfg.path)?,
    };
    let (bytes, digest) = open(&cfg.path)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(TrainError::EmptyFile {
            path: cfg.path.clone(),
        });
    }
    let mut t = match format {
        Format::Csv => read_csv(&cfg.path, &bytes)?,
        Format::Jsonl => read_jsonl(&cfg.path, &bytes)?,
    };
    t.digest = digest;
    if t.rows.is_empty() {
        return Err(TrainError::NoRows {
            path: cfg.path.clone(),
        });
    }
    Ok(t)
}

fn read_csv(path: &Path, bytes: &[u8]) -> Result<Table> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let csv_err = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => TrainError::NotUtf8 {
            path: path.to_path_buf(),
            line: pos.as_ref().map(|p| p.line()).unwrap_or(0),
        },
        _ => TrainError::Parse {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        },
    };
    let columns: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        lines.push(rec.position().map(|p| p.line()).unwrap_or(0));
        rows.push(
            rec.iter()
                .map(|s| (!s.trim().is_empty()).then(|| s.to_string()))
                .collect(),
        );
    }
    Ok(Table {
        path: path.to_path_buf(),
        columns,
        rows,
        lines,
        blank_lines: 0,
        digest: String::new(),
    })
}

fn read_jsonl(path: &Path, bytes: &[u8]) -> Result<Table> {
    let mut columns: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    let mut lines = Vec::new();
    let mut blank = 0;
    for (i, line) in BufReader::new(bytes).split(b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| TrainError::io(path, e))?;
        let text = std::str::from_utf8(&line).map_err(|_| TrainError::NotUtf8 {
            path: path.to_path_buf(),
            line: line_no,
        })?;
        if text.trim().is_empty() {
            blank += 1;
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| TrainError::Parse {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("invalid JSON: {e}"),
        })?;
        let serde_json::Value::Object(map) = v else {
            return Err(TrainError::Parse {
                path: path.to_path_buf(),
                line: line_no,
                message: "each line must be a JSON object".into(),
            });
        };
        for k in map.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        objects.push(map);
        lines.push(line_no);
    }
    let rows = objects
        .into_iter()
        .map(|m| {
            columns
                .iter()
                .map(|c| match m.get(c) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect()
        })
        .collect();
    Ok(Table {
        path: path.to_path_buf(),
        columns,
        rows,
        lines,
        blank_lines: blank,
        digest: String::new(),
    })
}

/// Texts with class indices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub texts: Vec<String>,
    pub labels: Vec<usize>,
    pub label_names: Vec<String>,
}

/// What turning a table into a dataset dropped, never silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DropCounts {
    pub rows_read: usize,
    pub missing_text: usize,
    pub missing_label: usize,
    pub kept: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.label_names.len()];
        for &l in &self.labels {
            c[l] += 1;
        }
        c
    }
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            texts: idx.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            label_names: self.label_names.clone(),
        }
    }

    /// Builds the dataset from a table: rows without text or label are dropped and
    /// counted; label values the mapping does not know are an error.
    pub fn from_table(t: &Table, cfg: &DataConfig) -> Result<(Dataset, DropCounts)> {
        if cfg.text_columns.is_empty() {
            return Err(TrainError::Config(
                "at least one text column is needed".into(),
            ));
        }
        // The last text column is the body and must exist; columns before it (a title,
        // say) are used when the file has them.
        let (body, extra) = cfg.text_columns.split_last().expect("checked above");
        let mut text_cols: Vec<usize> = extra
            .iter()
            .filter_map(|c| t.columns.iter().position(|x| x == c))
            .collect();
        text_cols.push(t.column(body)?);
        let label_col = t.column(&cfg.label_column)?;
        let mut counts = DropCounts {
            rows_read: t.rows.len(),
            ..Default::default()
        };
        let mut texts = Vec::new();
        let mut raw_labels = Vec::new();
        let mut bad: Vec<(u64, String)> = Vec::new();
        for (row, &line) in t.rows.iter().zip(&t.lines) {
            let parts: Vec<&str> = text_cols
                .iter()
                .filter_map(|&c| row.get(c).and_then(|v| v.as_deref()))
                .map(str::trim)
                .collect();
            // The last text column is the body: without it the row has no text.
            let body = row
                .get(*text_cols.last().unwrap_or(&0))
                .and_then(|v| v.as_deref());
            let Some(raw) = row.get(label_col).and_then(|v| v.as_deref()) else {
                counts.missing_label += 1;
                continue;
            };
            let Some(label) = cfg.mapping.map(raw) else {
                bad.push((line, raw.to_string()));
                continue;
            };
            if body.is_none() {
                counts.missing_text += 1;
                continue;
            }
            texts.push(parts.join(". "));
            raw_labels.push(label);
        }
        if !bad.is_empty() {
            let mut examples: Vec<String> = bad.iter().map(|(_, v)| format!("{v:?}")).collect();
            examples.dedup();
            examples.truncate(5);
            return Err(TrainError::UnknownLabels {
                path: t.path.clone(),
                column: cfg.label_column.clone(),
                count: bad.len(),
                examples: examples.join(", "),
                first_line: bad[0].0,
                hint: match cfg.mapping {
                    LabelMapping::Sentiment => {
                        " — the sentiment mapping expects star ratings 1 to 5".into()
                    }
                    LabelMapping::Identity => String::new(),
                },
            });
        }
        let label_names: Vec<String> = match cfg.mapping {
            LabelMapping::Sentiment => SENTIMENT_LABELS.iter().map(|s| s.to_string()).collect(),
            LabelMapping::Identity => {
                let mut v: Vec<String> = raw_labels.clone();
                v.sort();
                v.dedup();
                v
            }
        };
        let labels = raw_labels
            .iter()
            .map(|l| label_names.iter().position(|n| n == l).unwrap_or(0))
            .collect();
        counts.kept = texts.len();
        if texts.is_empty() {
            return Err(TrainError::NoRows {
                path: t.path.clone(),
            });
        }
        Ok((
            Dataset {
                texts,
                labels,
                label_names,
            },
            counts,
        ))
    }

    /// Writes `{"text", "label"}` lines.
    pub fn write_jsonl(&self, path: &Path) -> Result<()> {
        let mut out = String::new();
        for (t, &l) in self.texts.iter().zip(&self.labels) {
            out.push_str(&serde_json::json!({"text": t, "label": self.label_names[l]}).to_string());
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| TrainError::io(path, e))
    }

    /// Reads what [`Self::write_jsonl`] wrote, with the given class names.
    pub fn read_jsonl(path: &Path, label_names: &[String]) -> Result<Dataset> {
        let cfg = DataConfig {
            path: path.to_path_buf(),
            format: Some(Format::Jsonl),
            text_columns: vec!["text".into()],
            label_column: "label".into(),
            mapping: LabelMapping::Identity,
        };
        let t = load_table(&cfg)?;
        let (d, _) = Dataset::from_table(&t, &cfg)?;
        let mut out = Dataset {
            texts: d.texts,
            labels: Vec::with_capacity(d.labels.len()),
            label_names: label_names.to_vec(),
        };
        for &l in &d.labels {
            let name = &d.label_names[l];
            let idx = label_names.iter().position(|n| n == name).ok_or_else(|| {
                TrainError::Config(format!("{}: unknown label {name:?}", path.display()))
            })?;
            out.labels.push(idx);
        }
        Ok(out)
    }
}
