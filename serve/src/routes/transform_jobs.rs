//! `POST /transform-jobs` and `GET /transform-jobs/{id}` (behind the management token,
//! checked by the router). The body is a transform job in SageMaker's names
//! (`{"Input", "Output", "SplitType", "BatchStrategy", "MaxPayloadInMB", …,
//! "DataProcessing": {"InputFilter", "JoinSource", "OutputFilter"}}`) plus an optional
//! `"Variant"`: the in-process variant whose batcher runs the job (default: routed). The
//! jobs themselves are the `transform` crate's, reached through [`TransformJobs`].
use super::App;
use crate::endpoint::routing::Route;
use crate::error::ServeError;
use crate::http::{body_bytes, json_response, Req, Resp};
use crate::jobs::TransformJobs;
use crate::variant::Backend;
use hyper::StatusCode;
use serde_json::Value;

fn jobs(app: &App) -> Result<&dyn TransformJobs, ServeError> {
    app.transform
        .as_deref()
        .ok_or_else(|| ServeError::PathNotAllowed("this server runs no transform jobs".into()))
}

/// `POST /transform-jobs`: starts a job; 201 with its description.
pub async fn create(app: &App, req: Req) -> Result<Resp, ServeError> {
    let jobs = jobs(app)?;
    let body = body_bytes(req, app.limits.max_body_bytes).await?;
    let malformed = |e: String| ServeError::Malformed(format!("invalid transform job: {e}"));
    let mut spec: serde_json::Map<String, Value> =
        serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
    let variant = match spec.remove("Variant") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(v),
        Some(other) => return Err(malformed(format!("Variant must be a string, not {other}"))),
    };
    let routed = app.endpoint.route(Route {
        target: variant.as_deref(),
        session: None,
    })?;
    let Backend::Local(batcher) = &routed.deployed.backend else {
        return Err(ServeError::Invalid(format!(
            "variant {} is remote; transform jobs run on in-process variants",
            routed.variant
        )));
    };
    let d = jobs.start(batcher.clone(), Value::Object(spec))?;
    Ok(json_response(StatusCode::CREATED, &d))
}

/// `GET /transform-jobs/{id}`: the job's status, counts and (once done) summary.
pub fn describe(app: &App, id: &str) -> Result<Resp, ServeError> {
    Ok(json_response(StatusCode::OK, &jobs(app)?.describe(id)?))
}
