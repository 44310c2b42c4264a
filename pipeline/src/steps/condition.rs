//! condition: reads a value from an upstream JSON output and compares it; the executor
//! runs the `if_true` or the `if_false` steps and skips the others.
use super::{read_json, StepContext, StepOutcome};
use crate::condition::{compare, json_get, Op};
use crate::error::Result;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

/// `file` (a JSON file of the input), `path` (dotted) in it, `op` and `right`; the steps to
/// run `if_true` and `if_false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConditionSettings")]
pub struct ConditionConfig {
    pub file: String,
    pub path: String,
    #[serde(serialize_with = "op_symbol")]
    pub op: Op,
    pub right: Value,
    pub if_true: Vec<String>,
    pub if_false: Vec<String>,
}

fn op_symbol<S: Serializer>(op: &Op, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(op.symbol())
}

/// [`ConditionConfig`] as written, so a missing setting gets its own message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionSettings {
    file: Option<String>,
    path: Option<String>,
    op: Option<String>,
    right: Option<Value>,
    #[serde(default)]
    if_true: Vec<String>,
    #[serde(default)]
    if_false: Vec<String>,
}

impl TryFrom<ConditionSettings> for ConditionConfig {
    type Error = String;
    fn try_from(s: ConditionSettings) -> std::result::Result<Self, String> {
        let op = s.op.ok_or("op is required (>=, >, <=, <, ==)")?;
        let op = Op::parse(&op)
            .ok_or_else(|| format!("unknown op {op:?}: expected >=, >, <=, < or =="))?;
        let path = s
            .path
            .filter(|p| !p.is_empty())
            .ok_or("path is required (e.g. metrics.accuracy.value)")?;
        let file = s.file.ok_or("file is required (e.g. evaluation.json)")?;
        let right = s.right.ok_or(
            "right is required (the value to compare with; an unset parameter leaves it out)",
        )?;
        Ok(ConditionConfig {
            file,
            path,
            op,
            right,
            if_true: s.if_true,
            if_false: s.if_false,
        })
    }
}

pub(super) fn run(ctx: &StepContext, cfg: &ConditionConfig) -> Result<StepOutcome> {
    let (file, path, op, right) = (&cfg.file, &cfg.path, cfg.op, &cfg.right);
    let dir = ctx
        .inputs
        .values()
        .next()
        .ok_or_else(|| ctx.fail("a condition needs one input to read JSON from"))?;
    let doc = read_json(&dir.join(file))?;
    let left = json_get(&doc, path)
        .cloned()
        .ok_or_else(|| ctx.fail(format!("{file} has no value at {path:?}")))?;
    let outcome = compare(&left, op, right).map_err(|m| ctx.fail(m))?;
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
