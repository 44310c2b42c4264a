//! fail: ends the execution as Failed with its message (and why it was reached).
use super::{StepContext, StepOutcome};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// `message`: what the failure says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailConfig {
    pub message: String,
}

impl Default for FailConfig {
    fn default() -> Self {
        FailConfig {
            message: "the pipeline reached a fail step".into(),
        }
    }
}

pub(super) fn run(ctx: &StepContext, cfg: &FailConfig) -> Result<StepOutcome> {
    let full = if ctx.notes.is_empty() {
        cfg.message.clone()
    } else {
        format!("{}: {}", cfg.message, ctx.notes.join("; "))
    };
    ctx.log(full.clone());
    Err(ctx.fail(full))
}
