//! `GET /experiments/{id}`: the experiment's report, kept up to date incrementally from
//! this endpoint's capture and feedback files (off the async executor), plus the live
//! shadow and capture counters. Behind a bearer token when `--read-token` is set (the
//! admin token is accepted too).
use super::App;
use crate::error::ServeError;
use crate::http::{json_response, Resp};
use hyper::StatusCode;
use monitoring::experiment::ReportOptions;
use monitoring::MonitoringError;

pub async fn get(
    app: std::sync::Arc<App>,
    id: &str,
    headers: &hyper::HeaderMap,
) -> Result<Resp, ServeError> {
    if let Some(token) = &app.read_token {
        super::admin::check_bearer(headers, &[Some(token), app.admin_token.as_ref()])?;
    }
    if app.reports.is_none() {
        return Err(ServeError::NotFound(
            "experiments are disabled (start the endpoint with a state directory)".into(),
        ));
    }
    let (id, shared) = (id.to_string(), app.clone());
    let report = tokio::task::spawn_blocking(move || {
        let reports = shared.reports.as_ref().expect("checked above");
        reports.report(&id, &ReportOptions::default())
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
