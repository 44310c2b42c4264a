//! Hyperparameter tuning: search spaces read from TOML ([`space`]), objectives, samplers
//! (random; TPE from the `tpe` crate), ASHA early stopping on per-epoch validation metrics,
//! trial and wall-time budgets, seeded and warm-started searches ([`search`]), stratified
//! k-fold or repeated-split validation ([`cv`]), and trials that train real models
//! ([`training`]). The job file ([`record`]) records every trial.
pub mod asha;
pub mod cv;
pub mod objective;
pub mod params;
pub mod record;
pub mod sampler;
pub mod search;
pub mod space;
pub mod training;

pub use cv::{folds, Fold, Validation};
pub use objective::{Goal, Metric, Objective};
pub use params::{ParamValue, Params};
pub use record::{Score, Strategy, TrialRecord, TrialStatus, TuneJobFile};
pub use search::{search, Control, Evaluator, SearchConfig, TrialOutcome, TrialSpec};
pub use space::{AshaConfig, Distribution, SearchSpace};
pub use training::{cross_validate, CrossValidation, TrainingEvaluator};
