//! fail: ends the execution as Failed with its message (and why it was reached).
use super::{StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{Map, Value};

pub(super) fn check(cfg: &Map<String, Value>) -> std::result::Result<(), String> {
    match cfg.get("message") {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err("message must be a string".into()),
    }
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    let msg = ctx
        .config
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the pipeline reached a fail step");
    let full = if ctx.notes.is_empty() {
        msg.to_string()
    } else {
        format!("{msg}: {}", ctx.notes.join("; "))
    };
    ctx.log(full.clone());
    Err(ctx.fail(full))
}
