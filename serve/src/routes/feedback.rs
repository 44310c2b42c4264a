//! `POST /feedback`: ground-truth labels by inference id, appended to the endpoint's
//! feedback files. Behind a bearer token when `--feedback-token` is set (the admin token is
//! accepted too); bounded (the body limit, at most 1,000 items, a rate limit → 429); every
//! label must be one of the classes of the model that answered (422 otherwise; for ids no
//! recent capture knows, one of any variant's classes). Ids no recent captured prediction
//! knows are accepted and counted as `unknown` (the ground truth may arrive for traffic
//! that was not sampled); a second label set for an id replaces the first (counted).
use super::App;
use crate::error::ServeError;
use crate::http::{body_bytes, json_response, Req, Resp};
use crate::telemetry::{FEEDBACK_RECORDS, FEEDBACK_REPLACED, FEEDBACK_UNKNOWN};
use hyper::StatusCode;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

pub async fn feedback(app: &App, req: Req) -> Result<Resp, ServeError> {
    let Some(feedback) = app.feedback.as_ref() else {
        return Err(ServeError::NotFound(
            "feedback is disabled (start the endpoint with a state directory)".into(),
        ));
    };
    if let Some(token) = &app.feedback_token {
        super::admin::check_bearer(req.headers(), &[Some(token), app.admin_token.as_ref()])?;
    }
    let body = body_bytes(req, app.limits.max_body_bytes).await?;
    let records = monitoring::feedback::parse_body(&body).map_err(ServeError::Malformed)?;
    let classes: BTreeMap<String, Vec<String>> = app
        .endpoint
        .describe()
        .into_iter()
        .map(|v| (v.name, v.deployed.labels))
        .collect();
    let any: BTreeSet<&String> = classes.values().flatten().collect();
    let mut by_variant = BTreeMap::<String, u64>::new();
    let mut unknown = 0u64;
    for r in &records {
        let variant = feedback.index.variant_of(&r.inference_id);
        let allowed = |l: &String| match variant.as_ref().and_then(|v| classes.get(v)) {
            Some(c) => c.contains(l),
            None => any.contains(l),
        };
        if let Some(bad) = r.labels.iter().find(|l| !allowed(l)) {
            return Err(ServeError::Invalid(format!(
                "label {bad:?} of {:?} is not one of the model's classes",
                r.inference_id
            )));
        }
        match variant {
            Some(v) => *by_variant.entry(v).or_default() += 1,
            None => unknown += 1,
        }
    }
    if !feedback.admit(records.len()) {
        return Err(ServeError::Overloaded(
            "too much feedback at once; send it again later".into(),
        ));
    }
    let to_write = records.clone();
    let store = feedback.store.clone();
    tokio::task::spawn_blocking(move || store.append(&to_write))
        .await
        .map_err(|e| ServeError::Internal(format!("feedback writer: {e}")))??;
    let replaced = feedback.note_labelled(&records);
    let labels: usize = records.iter().map(|r| r.labels.len()).sum();
    feedback
        .received
        .fetch_add(labels as u64, Ordering::Relaxed);
    metrics::counter!(FEEDBACK_RECORDS).increment(records.len() as u64);
    metrics::counter!(FEEDBACK_UNKNOWN).increment(unknown);
    metrics::counter!(FEEDBACK_REPLACED).increment(replaced);
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({
            "accepted": records.len(),
            "matched": records.len() as u64 - unknown,
            "unknown": unknown,
            "replaced": replaced,
            "by_variant": by_variant,
        }),
    ))
}
