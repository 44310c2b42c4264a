//! `POST /transform-jobs` and `GET /transform-jobs/{id}` (behind the management token,
//! checked by the router). The body is a `TransformSpec` (SageMaker names:
//! `{"Input", "Output", "SplitType", "BatchStrategy", "MaxPayloadInMB", …,
//! "DataProcessing": {"InputFilter", "JoinSource", "OutputFilter"}}`) plus an optional
//! `"Variant"`: the in-process variant whose batcher runs the job (default: routed).
use super::jobs::TransformJobs;
use super::knobs::TransformSpec;
use crate::endpoint::Endpoint;
use crate::error::ServeError;
use crate::http::{body_bytes, json_response, Req, Resp};
use crate::variant::Backend;
use hyper::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
struct CreateBody {
    #[serde(rename = "Variant", default)]
    variant: Option<String>,
    #[serde(flatten)]
    spec: TransformSpec,
}

/// `POST /transform-jobs`: starts a job; 201 with its description.
pub async fn create(
    jobs: &TransformJobs,
    endpoint: &Endpoint,
    max_body_bytes: usize,
    req: Req,
) -> Result<Resp, ServeError> {
    let body = body_bytes(req, max_body_bytes).await?;
    let body: CreateBody = serde_json::from_slice(&body)
        .map_err(|e| ServeError::Malformed(format!("invalid transform job: {e}")))?;
    let routed = endpoint.route(crate::endpoint::routing::Route {
        target: body.variant.as_deref(),
        session: None,
    })?;
    let Backend::Local(batcher) = &routed.deployed.backend else {
        return Err(ServeError::Invalid(format!(
            "variant {} is remote; transform jobs run on in-process variants",
            routed.variant
        )));
    };
    let id = jobs.start(batcher.clone(), body.spec)?;
    let d = jobs.describe(&id)?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::to_value(d).unwrap_or_default(),
    ))
}

/// `GET /transform-jobs/{id}`: the job's status, counts and (once done) summary.
pub fn describe(jobs: &TransformJobs, id: &str) -> Result<Resp, ServeError> {
    let d = jobs.describe(id)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(d).unwrap_or_default(),
    ))
}
