//! A/B experiments between variants of one endpoint: the persisted experiment record
//! ([`ExperimentStore`], one JSON file per experiment under `<state>/experiments/`) and the
//! report with its verdict ([`report`]), kept up to date incrementally by a [`Tally`].
mod report;
pub mod stats;
mod tally;

pub use report::{
    report, ExperimentReport, ReportOptions, ShadowReport, SignificanceTest, VariantReport, Verdict,
};
pub use tally::Tally;

/// The JSON schema of [`ExperimentReport`] (what `sentio experiment report` prints and
/// `GET /experiments/{id}` answers; committed as `monitoring/schemas/experiment_report.json`).
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ExperimentReport)).unwrap_or_default()
}

use crate::files::{read_json, write_json};
use crate::MonitoringError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What is compared, since when, by which metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Experiment {
    pub id: String,
    pub endpoint: String,
    /// The production variants compared (the first is the control).
    pub variants: Vec<String>,
    /// The shadow compared with its production variant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
    /// A canary experiment: the model reference the second variant was deployed with. At
    /// promotion the winner's model serves the first (live) variant and the canary
    /// variant is retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    /// `accuracy` (from feedback); the goal the verdict uses.
    pub goal_metric: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `running` or `promoted`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
}

impl Experiment {
    pub fn new(id: &str, endpoint: &str, variants: Vec<String>) -> Result<Self, MonitoringError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(MonitoringError::InvalidExperiment(format!(
                "id {id:?} must be 1–64 of [A-Za-z0-9_-]"
            )));
        }
        if variants.len() < 2 {
            return Err(MonitoringError::InvalidExperiment(
                "an experiment compares at least two variants".into(),
            ));
        }
        Ok(Experiment {
            id: id.into(),
            endpoint: endpoint.into(),
            variants,
            shadow: None,
            canary: None,
            goal_metric: "accuracy".into(),
            started_at: chrono::Utc::now(),
            ended_at: None,
            status: "running".into(),
            winner: None,
        })
    }
}

/// Experiment records as JSON files, written atomically.
#[derive(Debug, Clone)]
pub struct ExperimentStore {
    dir: PathBuf,
}

impl ExperimentStore {
    pub fn new(state_dir: &Path) -> Self {
        ExperimentStore {
            dir: state_dir.join("experiments"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    pub fn save(&self, e: &Experiment) -> Result<(), MonitoringError> {
        write_json(&self.path(&e.id), e)
    }

    /// Saves a new experiment; refuses an id that exists.
    pub fn create(&self, e: &Experiment) -> Result<(), MonitoringError> {
        if self.path(&e.id).exists() {
            return Err(MonitoringError::ExperimentExists(e.id.clone()));
        }
        self.save(e)
    }

    pub fn load(&self, id: &str) -> Result<Experiment, MonitoringError> {
        let path = self.path(id);
        if id.contains(['/', '\\', '.']) || !path.is_file() {
            return Err(MonitoringError::ExperimentNotFound(id.into()));
        }
        read_json(&path)
    }

    pub fn list(&self) -> Result<Vec<Experiment>, MonitoringError> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for entry in rd {
            let p = entry.map_err(|e| MonitoringError::io(&self.dir, e))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && !name.starts_with('.') {
                out.push(read_json(&p)?);
            }
        }
        out.sort_by_key(|e: &Experiment| e.started_at);
        Ok(out)
    }
}

/// The report of experiment `id` from an endpoint's capture folder and its feedback (a
/// file or folder; default: `<state>/feedback/<endpoint>`, and the older single file
/// `<state>/feedback/<endpoint>.jsonl`); missing folders and files are empty.
pub fn report_from_files(
    state_dir: &Path,
    id: &str,
    capture: &Path,
    feedback: Option<&Path>,
    opts: &ReportOptions,
) -> Result<ExperimentReport, MonitoringError> {
    let e = ExperimentStore::new(state_dir).load(id)?;
    let mut t = Tally::new(e.clone());
    match feedback {
        Some(f) => t.read_new(capture, f)?,
        None => {
            // The older single file first: later records replace earlier ones.
            let legacy = state_dir
                .join("feedback")
                .join(format!("{}.jsonl", e.endpoint));
            t.read_new(capture, &legacy)?;
            t.read_new(Path::new(""), &feedback_dir(state_dir, &e.endpoint))?;
        }
    }
    Ok(t.report(opts))
}

/// Where an endpoint's feedback files are: `<state>/feedback/<endpoint>/`.
pub fn feedback_dir(state_dir: &Path, endpoint: &str) -> PathBuf {
    state_dir.join("feedback").join(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ExperimentStore::new(dir.path());
        let e = Experiment::new("exp-1", "sentio", vec!["A".into(), "B".into()]).unwrap();
        store.save(&e).unwrap();
        assert_eq!(store.load("exp-1").unwrap(), e);
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(matches!(
            store.load("nope"),
            Err(MonitoringError::ExperimentNotFound(_))
        ));
        assert!(matches!(
            store.create(&e),
            Err(MonitoringError::ExperimentExists(_))
        ));
        assert!(Experiment::new("../x", "s", vec!["A".into(), "B".into()]).is_err());
        assert!(Experiment::new("x", "s", vec!["A".into()]).is_err());
    }
}
