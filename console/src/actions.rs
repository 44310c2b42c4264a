//! The actions (all behind the admin token; see [`crate::auth`]): resume or re-run an
//! execution, approve or reject a version, change an endpoint's weights, deploy a
//! registry version to a variant, set capture sampling, promote an experiment's winner.
//! Endpoint actions go to the endpoint's management API with the console's token.
use crate::app::{blocking, App};
use crate::error::{ConsoleError, Result};
use hyper::Method;
use pipeline::definition::PipelineDef;
use pipeline::store::ExecutionStatus;
use pipeline::{ExecutorConfig, ParamValue, RunRequest};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Resume,
    Rerun,
    Approve,
    Reject,
    Weights,
    Deploy,
    Capture,
    Promote,
}

/// An action's input: a JSON object, or a form's fields (`weight:<variant>` fields become
/// `{"weights": {<variant>: …}}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input(Map<String, Value>);

impl Input {
    pub fn from_form(fields: &[(String, String)]) -> Self {
        let mut m = Map::new();
        let mut weights = Map::new();
        for (k, v) in fields {
            match k.strip_prefix("weight:") {
                Some(variant) => {
                    weights.insert(variant.to_string(), Value::String(v.clone()));
                }
                None if k != "token" && k != "csrf" => {
                    m.insert(k.clone(), Value::String(v.clone()));
                }
                None => {}
            }
        }
        if !weights.is_empty() {
            m.insert("weights".into(), Value::Object(weights));
        }
        Input(m)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(m)) => Ok(Input(m)),
            Ok(_) => Err(ConsoleError::BadRequest(
                "the body must be a JSON object".into(),
            )),
            Err(e) => Err(ConsoleError::BadRequest(format!("invalid JSON: {e}"))),
        }
    }

    fn text(&self, k: &str) -> Option<String> {
        match self.0.get(k)? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn number(v: &Value, what: &str) -> Result<f64> {
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|x| x.is_finite())
            .ok_or_else(|| ConsoleError::BadRequest(format!("{what} must be a number, not {v}")))
    }

    fn required(&self, k: &str) -> Result<String> {
        self.text(k)
            .ok_or_else(|| ConsoleError::BadRequest(format!("{k:?} is required")))
    }
}

/// What an action did.
#[derive(Debug, Clone)]
pub struct Done {
    pub message: String,
    /// The page to show next.
    pub redirect: String,
    pub value: Value,
}

fn token(app: &App) -> Result<String> {
    app.token()
        .map(str::to_string)
        .ok_or(ConsoleError::ActionsDisabled)
}

pub async fn perform(app: &Arc<App>, act: Act, params: &[String], input: Input) -> Result<Done> {
    let p = |i: usize| params.get(i).cloned().unwrap_or_default();
    match act {
        Act::Approve | Act::Reject => decide(app, act == Act::Approve, p(0), input).await,
        Act::Resume => resume(app, p(0)).await,
        Act::Rerun => rerun(app, p(0)).await,
        Act::Weights => {
            let weights = input
                .0
                .get("weights")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ConsoleError::BadRequest("\"weights\" (variant → weight) is required".into())
                })?
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        json!(Input::number(v, &format!("the weight of {k}"))?),
                    ))
                })
                .collect::<Result<Map<String, Value>>>()?;
            let body = json!({ "weights": weights });
            endpoint_call(app, &p(0), Method::PUT, "weights", &body, "weights changed").await
        }
        Act::Deploy => {
            let variant = input.required("variant")?;
            let version = input.required("version")?;
            let reference = blocking(app, move |app| {
                let v = app.stores.registry().describe(&version)?;
                Ok(format!("registry:{}:{}", v.group, v.number))
            })
            .await?;
            if !variant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(ConsoleError::BadRequest(format!(
                    "{variant:?} is not a variant name"
                )));
            }
            let body = json!({ "model": reference });
            let path = format!("variants/{variant}/deploy");
            let msg = format!("deployed {reference} to {variant}");
            endpoint_call(app, &p(0), Method::POST, &path, &body, &msg).await
        }
        Act::Capture => {
            let v = input.0.get("sampling_percent").ok_or_else(|| {
                ConsoleError::BadRequest("\"sampling_percent\" is required".into())
            })?;
            let body = json!({ "sampling_percent": Input::number(v, "sampling_percent")? });
            endpoint_call(
                app,
                &p(0),
                Method::PUT,
                "capture",
                &body,
                "capture sampling changed",
            )
            .await
        }
        Act::Promote => promote(app, p(0), p(1), input.text("winner")).await,
    }
}

async fn decide(app: &Arc<App>, approve: bool, version: String, input: Input) -> Result<Done> {
    let note = input.text("note").unwrap_or_default();
    let v = blocking(app, move |app| {
        let r = app.stores.registry();
        Ok(if approve {
            r.approve(&version, "console", &note)?
        } else {
            r.reject(&version, "console", &note)?
        })
    })
    .await?;
    Ok(Done {
        message: format!("{}/{} is now {}", v.group, v.number, v.status),
        redirect: format!("/registry/{}", v.group),
        value: json!({ "version": v.version, "group": v.group, "number": v.number, "status": v.status }),
    })
}

async fn endpoint_call(
    app: &Arc<App>,
    name: &str,
    method: Method,
    path: &str,
    body: &Value,
    message: &str,
) -> Result<Done> {
    let e = {
        let name = name.to_string();
        blocking(app, move |app| app.endpoint(&name)).await?
    };
    let url = format!("{}/v1/admin/{path}", e.url);
    let answer = app
        .client
        .send_json(&e.name, method, &url, body, Some(&token(app)?))
        .await?;
    Ok(Done {
        message: format!("{}: {message}", e.name),
        redirect: format!("/endpoints/{}", e.name),
        value: crate::redact::redact_json(&answer),
    })
}

async fn resume(app: &Arc<App>, id: String) -> Result<Done> {
    let e = blocking(app, move |app| {
        let e = app
            .stores
            .metadata
            .execution(&id)?
            .ok_or_else(|| ConsoleError::NotFound(format!("no execution {id:?}")))?;
        if !(e.status == ExecutionStatus::Failed || e.interrupted()) {
            return Err(ConsoleError::Conflict(format!(
                "execution {} is {}: only failed or interrupted executions can be resumed",
                e.id, e.status
            )));
        }
        Ok(e)
    })
    .await?;
    let (cfg, stores, id) = (
        ExecutorConfig::new(app.home().clone()),
        app.stores.clone(),
        e.id.clone(),
    );
    spawn_run("resume", move || {
        pipeline::resume(&cfg, &stores, &id).map(|s| s.id)
    })?;
    Ok(Done {
        message: format!("resuming execution {}", e.id),
        redirect: format!("/executions/{}", e.id),
        value: json!({ "execution": e.id }),
    })
}

async fn rerun(app: &Arc<App>, id: String) -> Result<Done> {
    let req = blocking(app, move |app| {
        let e = app
            .stores
            .metadata
            .execution(&id)?
            .ok_or_else(|| ConsoleError::NotFound(format!("no execution {id:?}")))?;
        let bad = |m: String| ConsoleError::Conflict(format!("cannot re-run {}: {m}", e.id));
        let definition: PipelineDef = serde_json::from_value(e.definition.clone())
            .map_err(|err| bad(format!("stored definition unreadable: {err}")))?;
        let values: BTreeMap<String, ParamValue> = serde_json::from_value(e.parameters.clone())
            .map_err(|err| bad(format!("stored parameters unreadable: {err}")))?;
        // Every input problem (a data file gone) is found now, not in the background.
        let resolved = pipeline::params::resolve(&definition.parameters, &values, &[])?;
        definition.plan(&resolved)?;
        let mut req = RunRequest::new(definition);
        req.values = values;
        req.trigger = format!("console: re-run of {}", e.id);
        Ok((e.id, req))
    })
    .await?;
    let (source, req) = req;
    let (cfg, stores) = (ExecutorConfig::new(app.home().clone()), app.stores.clone());
    spawn_run("re-run", move || {
        pipeline::execute(&cfg, &stores, &req).map(|s| s.id)
    })?;
    Ok(Done {
        message: format!("re-running execution {source}"),
        redirect: "/pipelines".into(),
        value: json!({ "rerun_of": source }),
    })
}

/// Runs a pipeline on its own thread (it takes minutes); the store shows its progress.
fn spawn_run(
    what: &'static str,
    f: impl FnOnce() -> pipeline::Result<String> + Send + 'static,
) -> Result<()> {
    std::thread::Builder::new()
        .name(format!("console-{what}"))
        .spawn(move || match f() {
            Ok(id) => tracing::info!(execution = %id, "{what} finished"),
            Err(e) => tracing::warn!(error = %e, "{what} failed"),
        })
        .map(|_| ())
        .map_err(|e| ConsoleError::Internal(format!("cannot start the {what}: {e}")))
}

async fn promote(
    app: &Arc<App>,
    endpoint: String,
    id: String,
    winner: Option<String>,
) -> Result<Done> {
    let view = crate::views::experiments::detail(app, &endpoint, &id).await?;
    let winner = winner.or(view.suggested_winner.clone()).ok_or_else(|| {
        ConsoleError::Conflict("no winner to promote: the verdict names none (choose one)".into())
    })?;
    let experiment = &view.report.experiment;
    if !experiment.variants.contains(&winner) {
        return Err(ConsoleError::BadRequest(format!(
            "{winner:?} is not a variant of experiment {id:?}"
        )));
    }
    let weights: Map<String, Value> = experiment
        .variants
        .iter()
        .map(|v| (v.clone(), json!(if *v == winner { 1.0 } else { 0.0 })))
        .collect();
    endpoint_call(
        app,
        &endpoint,
        Method::PUT,
        "weights",
        &json!({ "weights": weights }),
        "weights",
    )
    .await?;
    let (e, x) = (endpoint.clone(), id.clone());
    let w = winner.clone();
    blocking(app, move |app| {
        let ep = app.endpoint(&e)?;
        let state = ep
            .state_dir
            .ok_or_else(|| ConsoleError::Conflict(format!("endpoint {e} has no state folder")))?;
        let store = monitoring::experiment::ExperimentStore::new(&state);
        let mut rec = store.load(&x)?;
        rec.status = "promoted".into();
        rec.winner = Some(w);
        rec.ended_at = Some(chrono::Utc::now());
        Ok(store.save(&rec)?)
    })
    .await?;
    Ok(Done {
        message: format!("promoted {winner} in experiment {id}: all traffic moved to it"),
        redirect: format!("/experiments/{endpoint}/{id}"),
        value: json!({ "winner": winner }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_become_input() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let i = Input::from_form(&[
            f("weight:A", "1"),
            f("weight:B", "3"),
            f("token", "t"),
            f("csrf", "c"),
            f("note", " ok "),
        ]);
        assert_eq!(i.text("note").as_deref(), Some("ok"));
        assert_eq!(i.0["weights"], json!({"A": "1", "B": "3"}));
        assert!(i.0.get("token").is_none() && i.0.get("csrf").is_none());
        assert_eq!(Input::number(&json!("2.5"), "w").unwrap(), 2.5);
        assert!(Input::number(&json!("x"), "w").is_err());
        assert!(Input::from_json(b"[1]").is_err());
    }
}
