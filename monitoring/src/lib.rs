//! Sentio's monitoring loop as files and the analytics over them. Every file format the
//! loop writes in one crate and reads in another has one typed definition here, with its
//! reader and writer:
//!
//! | format | module |
//! |---|---|
//! | request and response bodies (the inference contract) | [`payload`] |
//! | capture records (Sentio's and SageMaker's own) and capture trees | [`capture`] |
//! | `statistics.json` / `constraints.json` (Model Monitor's baseline) | [`baseline`] |
//! | per-text features (token length, unknown-token rate, tokens, labels) | [`profile`] |
//! | drift checks, `constraint_violations.json`, `monitoring_report.json`, `report.html` | [`drift`] |
//! | ground-truth records | [`feedback`] |
//! | model quality per variant | [`quality`] |
//! | experiment records, statistics and reports | [`experiment`] |
//!
//! The crate does no I/O but files: serving (`serve`) writes captures and runs drift checks
//! on a schedule through it; the pipeline's baseline step writes baselines through it.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod capture;
pub mod drift;
mod error;
pub mod experiment;
pub mod feedback;
pub mod files;
pub mod payload;
pub mod profile;
pub mod quality;

pub use error::MonitoringError;
