//! `POST /feedback`: ground-truth labels by inference id, appended to the endpoint's
//! feedback file. Ids no recent captured prediction knows are accepted and counted as
//! `unknown` (the ground truth may arrive for traffic that was not sampled).
use super::App;
use crate::error::ServeError;
use crate::http::{body_bytes, json_response, Req, Resp};
use crate::telemetry::{FEEDBACK_RECORDS, FEEDBACK_UNKNOWN};
use hyper::StatusCode;

pub async fn feedback(app: &App, req: Req) -> Result<Resp, ServeError> {
    let Some(feedback) = app.feedback.as_ref() else {
        return Err(ServeError::NotFound(
            "feedback is disabled (start the endpoint with a state directory)".into(),
        ));
    };
    let body = body_bytes(req, app.limits.max_body_bytes).await?;
    let records = monitoring::feedback::parse_body(&body).map_err(ServeError::Malformed)?;
    let mut by_variant = std::collections::BTreeMap::<String, u64>::new();
    let mut unknown = 0u64;
    for r in &records {
        match feedback.index.variant_of(&r.inference_id) {
            Some(v) => *by_variant.entry(v).or_default() += 1,
            None => unknown += 1,
        }
    }
    let path = feedback.store.path().to_path_buf();
    let to_write = records.clone();
    let store = feedback.store.clone();
    tokio::task::spawn_blocking(move || store.append(&to_write))
        .await
        .map_err(|e| ServeError::Internal(format!("feedback writer: {e}")))??;
    metrics::counter!(FEEDBACK_RECORDS).increment(records.len() as u64);
    metrics::counter!(FEEDBACK_UNKNOWN).increment(unknown);
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({
            "accepted": records.len(),
            "matched": records.len() as u64 - unknown,
            "unknown": unknown,
            "by_variant": by_variant,
            "file": path,
        }),
    ))
}
