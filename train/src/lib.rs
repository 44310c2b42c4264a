//! Sentio training: datasets (CSV/jsonlines), validation reports, stratified splits and
//! balancing, the training loop, evaluation metrics, whole training jobs and
//! hyperparameter tuning.
#![forbid(unsafe_code)]

pub mod data;
pub mod demo;
pub mod error;
pub mod job;
pub mod report;
pub mod split;
pub mod trainer;
pub mod tune;
pub mod validate;

pub use data::{load_table, DataConfig, Dataset, Format, LabelMapping, Table};
pub use error::{Result, TrainError};
/// Classification metrics live in `models` (one implementation for training, evaluation,
/// feedback quality and experiments).
pub use models::metrics;
pub use models::Evaluation;
pub use split::{split, Balance, SplitConfig, Splits};
pub use trainer::{evaluate_model, train, Architecture, TrainConfig, TrainOutcome};
pub use validate::{validate, ValidationConfig, ValidationReport};
