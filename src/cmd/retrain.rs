//! Retraining as the serve crate's monitor schedule and `sentio monitor run --retrain-home`
//! start it: the pipeline run in a `SENTIO_HOME`, reached through `serve::Retrainer`.
use std::path::PathBuf;

/// Runs the retraining pipeline in a home.
pub struct PipelineRetrainer {
    pub home: PathBuf,
    pub source: pipeline::PipelineSource,
}

impl serve::Retrainer for PipelineRetrainer {
    fn retrain(&self, reason: &str) -> Result<String, String> {
        let home =
            pipeline::Home::new(self.home.clone()).with_stores(crate::cmd::home::stores_from_env());
        let summary = pipeline::retrain(&home, reason, &self.source).map_err(|e| e.to_string())?;
        Ok(format!("execution {} ({:?})", summary.id, summary.status))
    }
}
