//! A/B experiments between variants of one endpoint: sticky assignment
//! ([`sticky`]), the persisted experiment record ([`ExperimentStore`], one JSON file per
//! experiment under `<state>/experiments/`), the report with its verdict ([`report`]) and
//! the CLI (`sentio experiment …`).
pub(crate) mod cli;
mod report;
pub mod stats;
pub mod sticky;

pub use cli::{run_experiment_cli, ExperimentArgs, ExperimentCommand};
pub use report::{report, ExperimentReport, ReportOptions, VariantReport, Verdict};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors of experiments and their store.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("experiment {0:?} not found")]
    NotFound(String),
    #[error("invalid experiment: {0}")]
    Invalid(String),
    #[error("experiment store: {0}")]
    Io(#[from] std::io::Error),
    #[error("experiment record: {0}")]
    Json(#[from] serde_json::Error),
}

/// What is compared, since when, by which metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub endpoint: String,
    /// The production variants compared (the first is the control).
    pub variants: Vec<String>,
    /// The shadow compared with its production variant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
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
    pub fn new(id: &str, endpoint: &str, variants: Vec<String>) -> Result<Self, ExperimentError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ExperimentError::Invalid(format!(
                "id {id:?} must be 1–64 of [A-Za-z0-9_-]"
            )));
        }
        if variants.len() < 2 {
            return Err(ExperimentError::Invalid(
                "an experiment compares at least two variants".into(),
            ));
        }
        Ok(Experiment {
            id: id.into(),
            endpoint: endpoint.into(),
            variants,
            shadow: None,
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

    pub fn save(&self, e: &Experiment) -> Result<(), ExperimentError> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{}.json.tmp", e.id));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(e)?)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.path(&e.id))?;
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<Experiment, ExperimentError> {
        if id.contains(['/', '\\', '.']) {
            return Err(ExperimentError::NotFound(id.into()));
        }
        match std::fs::read(self.path(id)) {
            Ok(b) => Ok(serde_json::from_slice(&b)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ExperimentError::NotFound(id.into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn list(&self) -> Result<Vec<Experiment>, ExperimentError> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for entry in rd {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "json") {
                out.push(serde_json::from_slice(&std::fs::read(&p)?)?);
            }
        }
        out.sort_by_key(|e: &Experiment| e.started_at);
        Ok(out)
    }
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
            Err(ExperimentError::NotFound(_))
        ));
        assert!(Experiment::new("../x", "s", vec!["A".into(), "B".into()]).is_err());
        assert!(Experiment::new("x", "s", vec!["A".into()]).is_err());
    }
}
