//! Experiment reports of a serving endpoint, kept up to date incrementally: one running
//! tally per experiment (`monitoring::experiment::Tally`), fed with what was appended to the
//! endpoint's capture and feedback files since the last report, so a report costs the new
//! records, not the whole history. Concurrent requests for one experiment wait for each
//! other instead of each reading the history.
use monitoring::experiment::{ExperimentReport, ExperimentStore, ReportOptions, Tally};
use monitoring::MonitoringError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where an endpoint's experiments, capture and feedback are.
pub struct Reports {
    store: ExperimentStore,
    capture_dir: PathBuf,
    feedback_dir: PathBuf,
    tallies: Mutex<HashMap<String, Arc<Mutex<Tally>>>>,
}

impl Reports {
    pub fn new(state_dir: &std::path::Path, capture_dir: PathBuf, endpoint: &str) -> Self {
        Reports {
            store: ExperimentStore::new(state_dir),
            capture_dir,
            feedback_dir: monitoring::experiment::feedback_dir(state_dir, endpoint),
            tallies: Mutex::default(),
        }
    }

    pub fn store(&self) -> &ExperimentStore {
        &self.store
    }

    /// The report of experiment `id` now (blocking: call off the async executor).
    pub fn report(
        &self,
        id: &str,
        opts: &ReportOptions,
    ) -> Result<ExperimentReport, MonitoringError> {
        let e = self.store.load(id)?;
        let tally = {
            let mut all = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
            let t = all
                .entry(id.to_string())
                .or_insert_with(|| Arc::new(Mutex::new(Tally::new(e.clone()))));
            t.clone()
        };
        let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
        if t.experiment().started_at != e.started_at || t.experiment().variants != e.variants {
            // Recreated under the same id: start over.
            *t = Tally::new(e.clone());
        }
        t.set_experiment(e);
        t.read_new(&self.capture_dir, &self.feedback_dir)?;
        Ok(t.report(opts))
    }
}
