//! condition: reads a value from an upstream JSON output and compares it; the executor
//! runs the `if_true` or the `if_false` steps and skips the others.
use super::{read_json, StepContext, StepOutcome};
use crate::condition::{compare, json_get, Op};
use crate::error::Result;
use serde_json::{json, Map, Value};

pub(super) fn check(cfg: &Map<String, Value>) -> std::result::Result<(), String> {
    let op = cfg
        .get("op")
        .and_then(Value::as_str)
        .ok_or("op is required (>=, >, <=, <, ==)")?;
    Op::parse(op).ok_or_else(|| format!("unknown op {op:?}: expected >=, >, <=, < or =="))?;
    cfg.get("path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or("path is required (e.g. metrics.accuracy.value)")?;
    cfg.get("file")
        .and_then(Value::as_str)
        .ok_or("file is required (e.g. evaluation.json)")?;
    if !cfg.contains_key("right") {
        return Err(
            "right is required (the value to compare with; an unset parameter leaves it out)"
                .into(),
        );
    }
    Ok(())
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    check(&ctx.config).map_err(|m| ctx.fail(m))?;
    let s = |k: &str| {
        ctx.config
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (file, path) = (s("file"), s("path"));
    let op = Op::parse(&s("op")).unwrap_or(Op::Eq);
    let right = ctx.config.get("right").cloned().unwrap_or(Value::Null);
    let dir = ctx
        .inputs
        .values()
        .next()
        .ok_or_else(|| ctx.fail("a condition needs one input to read JSON from"))?;
    let doc = read_json(&dir.join(&file))?;
    let left = json_get(&doc, &path)
        .cloned()
        .ok_or_else(|| ctx.fail(format!("{file} has no value at {path:?}")))?;
    let outcome = compare(&left, op, &right).map_err(|m| ctx.fail(m))?;
    let right_name = ctx.config_params.get("right").cloned();
    let right_text = match &right_name {
        Some(p) => format!("{p} = {right}"),
        None => right.to_string(),
    };
    let expression = format!(
        "{path} = {left} {} {} {right_text}",
        if outcome { "is" } else { "is not" },
        op.symbol()
    );
    ctx.log(format!("{expression} → {outcome}"));
    Ok(StepOutcome {
        properties: json!({
            "left": left, "op": op.symbol(), "right": right, "right_parameter": right_name,
            "path": path, "file": file, "outcome": outcome, "expression": expression,
        }),
        ..Default::default()
    })
}
