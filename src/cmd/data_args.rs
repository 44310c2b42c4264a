//! Arguments shared by the commands that read labelled data.
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use train::{DataConfig, Format, LabelMapping};

#[derive(Copy, Clone, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum MappingArg {
    /// Star ratings 1–5 → negative (1–2), neutral (3), positive (4–5).
    Sentiment,
    /// The label values are the class names.
    Identity,
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// Data file: .csv, .jsonl or .json lines, optionally .gz.
    #[arg(long)]
    pub data: PathBuf,
    /// Format, when the extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Text column; repeat to join several, body last. Columns before the body are used
    /// when present (default: Title, then Review Text).
    #[arg(long = "text-column", default_values_t = train::data::default_text_columns())]
    pub text_columns: Vec<String>,
    /// Label column.
    #[arg(long, default_value = "Rating")]
    pub label_column: String,
    /// How label values map to classes.
    #[arg(long, value_enum, default_value = "sentiment")]
    pub mapping: MappingArg,
}

impl DataArgs {
    pub fn config(&self) -> DataConfig {
        DataConfig {
            path: self.data.clone(),
            format: self.format.map(|f| match f {
                FormatArg::Csv => Format::Csv,
                FormatArg::Jsonl => Format::Jsonl,
            }),
            text_columns: self.text_columns.clone(),
            label_column: self.label_column.clone(),
            mapping: match self.mapping {
                MappingArg::Sentiment => LabelMapping::Sentiment,
                MappingArg::Identity => LabelMapping::Identity,
            },
        }
    }
}
