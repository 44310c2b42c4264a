//! One planned step's run within an execution: its state and everything recorded about
//! it, and the one place a [`StepRecord`] for the metadata store is made from it.
use super::StepSummary;
use crate::definition::PlannedStep;
use crate::store::{now, StepRecord, StepStatus};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Pending,
    Running,
    Done(StepStatus),
}

/// A planned step as the execution goes: waiting, running, then done with a status.
#[derive(Debug, Clone)]
pub(super) struct StepRun {
    pub state: State,
    /// Its row in the metadata store (0 until inserted).
    pub row: i64,
    pub cache_key: Option<String>,
    /// What the cache key was computed from.
    pub key_parts: Option<Value>,
    /// Why it ran, was answered from the cache, was reused or was skipped.
    pub decision: Option<String>,
    /// The execution whose outputs a Cached step reused.
    pub cached_from: Option<String>,
    /// Input name → digest.
    pub inputs: BTreeMap<String, String>,
    /// Output name → digest.
    pub outputs: BTreeMap<String, String>,
    pub properties: Value,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_s: Option<f64>,
    pub log_excerpt: String,
    pub failure_reason: Option<String>,
    /// Why this step runs (the condition outcome that led to it).
    pub notes: Vec<String>,
}

impl StepRun {
    pub fn pending() -> Self {
        StepRun {
            state: State::Pending,
            row: 0,
            cache_key: None,
            key_parts: None,
            decision: None,
            cached_from: None,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            properties: Value::Null,
            started_at: String::new(),
            ended_at: None,
            duration_s: None,
            log_excerpt: String::new(),
            failure_reason: None,
            notes: Vec::new(),
        }
    }

    /// A run that succeeded before the execution was interrupted, taken over by `resume`.
    pub fn reused(r: &StepRecord) -> Self {
        StepRun {
            state: State::Done(r.status),
            row: r.id,
            cache_key: r.cache_key.clone(),
            key_parts: r.key_parts.clone(),
            decision: Some(format!(
                "reused from before the interruption ({})",
                r.status
            )),
            cached_from: r.cached_from.clone(),
            outputs: r.outputs.clone(),
            properties: r.properties.clone(),
            started_at: r.started_at.clone(),
            ended_at: r.ended_at.clone(),
            duration_s: r.duration_s,
            log_excerpt: r.log_excerpt.clone(),
            failure_reason: r.failure_reason.clone(),
            ..StepRun::pending()
        }
    }

    /// A run recorded by another process (`run-step`), as it was recorded.
    pub fn recorded(r: &StepRecord) -> Self {
        StepRun {
            decision: r.cache_decision.clone(),
            ..StepRun::reused(r)
        }
    }

    /// Done without running (skipped, or answered from the cache): it starts and ends now.
    pub fn done_now(&mut self, status: StepStatus, decision: String) {
        let at = now();
        self.state = State::Done(status);
        self.decision = Some(decision);
        self.started_at = at.clone();
        self.ended_at = Some(at);
        self.duration_s = Some(0.0);
    }

    /// Its outputs can be used downstream.
    pub fn succeeded(&self) -> bool {
        matches!(
            self.state,
            State::Done(StepStatus::Succeeded | StepStatus::Cached)
        )
    }

    /// Downstream steps cannot run.
    pub fn blocks(&self) -> bool {
        matches!(
            self.state,
            State::Done(StepStatus::Skipped | StepStatus::Failed)
        )
    }

    /// The final status (a step that never ran counts as Skipped).
    pub fn final_status(&self) -> StepStatus {
        match self.state {
            State::Done(s) => s,
            State::Pending | State::Running => StepStatus::Skipped,
        }
    }

    /// The metadata store's row for this run.
    pub fn record(&self, execution_id: &str, step: &PlannedStep) -> StepRecord {
        StepRecord {
            id: self.row,
            execution_id: execution_id.to_string(),
            step: step.name.clone(),
            kind: step.kind.to_string(),
            status: match self.state {
                State::Done(s) => s,
                State::Pending | State::Running => StepStatus::Executing,
            },
            cache_key: self.cache_key.clone(),
            key_parts: self.key_parts.clone(),
            cache_decision: self.decision.clone(),
            cached_from: self.cached_from.clone(),
            outputs: self.outputs.clone(),
            properties: self.properties.clone(),
            started_at: self.started_at.clone(),
            ended_at: self.ended_at.clone(),
            duration_s: self.duration_s,
            log_excerpt: self.log_excerpt.clone(),
            failure_reason: self.failure_reason.clone(),
        }
    }

    pub fn summary(&self, step: &PlannedStep) -> StepSummary {
        StepSummary {
            name: step.name.clone(),
            status: self.final_status(),
            duration_s: self.duration_s.unwrap_or(0.0),
            decision: self.decision.clone(),
            failure_reason: self.failure_reason.clone(),
        }
    }
}
