//! `POST /invocations`: the SageMaker inference contract.
use super::predict::{finish, inference_id, run_local, target_variant};
use super::App;
use crate::codec::{decode, input_format, output_format};
use crate::error::ServeError;
use crate::http::{header_str, headers, read_body, Req, Resp};
use crate::variant::Backend;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use std::time::{Duration, Instant};

pub async fn invocations(app: &App, req: Req) -> Result<Resp, ServeError> {
    let started = Instant::now();
    let target = target_variant(req.headers())?;
    let id = inference_id(req.headers())?;
    let custom = req.headers().get(headers::CUSTOM_ATTRIBUTES).cloned();
    let session = app.observe.session(req.headers());
    let routed = app
        .observe
        .route(&app.endpoint, target.as_deref(), session.as_deref())?;
    let input_ct = header_str(req.headers(), CONTENT_TYPE.as_str())
        .unwrap_or("application/json")
        .to_string();
    let (mut input, mut shadow) = (None, None);
    let (result, model_time) = match &routed.deployed.backend {
        Backend::Remote(remote) => match read_body(req, app.limits.max_body_bytes).await {
            Ok((parts, body)) => {
                input = Some(body.clone());
                let mut fwd = parts.headers;
                if let Ok(v) = HeaderValue::from_str(&id) {
                    fwd.insert(headers::INFERENCE_ID, v);
                }
                let t = Instant::now();
                let r = remote.forward("/invocations", &fwd, body).await;
                (r, t.elapsed())
            }
            Err(e) => (Err(e), Duration::ZERO),
        },
        Backend::Local(batcher) => {
            let prepared = async {
                let in_fmt = input_format(header_str(req.headers(), CONTENT_TYPE.as_str()))?;
                let out_fmt = output_format(header_str(req.headers(), ACCEPT.as_str()))?;
                let (_, body) = read_body(req, app.limits.max_body_bytes).await?;
                input = Some(body.clone());
                let decoded = decode(in_fmt, &body, app.limits.max_instances)?;
                Ok::<_, ServeError>((decoded, out_fmt))
            }
            .await;
            match prepared {
                Ok((d, fmt)) => {
                    shadow = app.observe.shadow_job(&routed, &d.texts);
                    run_local(batcher, d.texts, d.single, fmt, &routed, &id).await
                }
                Err(e) => (Err(e), Duration::ZERO),
            }
        }
    };
    let resp = finish(app, &routed, result, started, model_time, &id, custom);
    let observed = crate::observe::Observed {
        routed: &routed,
        inference_id: &id,
        input_content_type: &input_ct,
        input,
        started,
        session,
        shadow,
    };
    Ok(app.observe.after(observed, resp).await)
}
