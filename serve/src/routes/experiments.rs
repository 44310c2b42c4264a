//! `GET /experiments/{id}`: the experiment's report, computed from this endpoint's capture
//! folder and feedback file (off the async executor), plus the live shadow counters.
use super::App;
use crate::error::ServeError;
use crate::http::{json_response, Resp};
use hyper::StatusCode;
use monitoring::experiment::{report_from_files, ReportOptions};
use monitoring::MonitoringError;

pub async fn get(app: &App, id: &str) -> Result<Resp, ServeError> {
    let Some(state) = app.state_dir.clone() else {
        return Err(ServeError::NotFound(
            "experiments are disabled (start the endpoint with a state directory)".into(),
        ));
    };
    let capture = app
        .capture
        .as_ref()
        .map(|c| c.config().dir.join(&app.endpoint.name))
        .unwrap_or_default();
    let id = id.to_string();
    let report = tokio::task::spawn_blocking(move || {
        report_from_files(&state, &id, &capture, None, &ReportOptions::default())
    })
    .await
    .map_err(|e| ServeError::Internal(format!("experiment report: {e}")))?
    .map_err(|e| match e {
        MonitoringError::ExperimentNotFound(id) => {
            ServeError::NotFound(format!("experiment {id:?}"))
        }
        other => ServeError::Internal(other.to_string()),
    })?;
    let mut v = serde_json::to_value(&report).map_err(|e| ServeError::Internal(e.to_string()))?;
    if let Some(s) = &app.shadow {
        v["shadow_live"] = serde_json::to_value(s.counts()).unwrap_or_default();
    }
    if let Some(c) = &app.capture {
        v["capture"] = serde_json::to_value(c.counts()).unwrap_or_default();
    }
    Ok(json_response(StatusCode::OK, &v))
}
