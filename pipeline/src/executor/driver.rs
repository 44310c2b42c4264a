//! Drives one execution: decides for each ready step between the cache and a run, runs
//! steps on threads, skips what a failure or a condition rules out, and records every
//! change in the metadata store as it happens.
use super::manifest::{self, Manifest, Outcome};
use super::run::{State, StepRun};
use super::{ExecutionSummary, ExecutorConfig};
use crate::cache;
use crate::dag;
use crate::definition::{PipelineDef, Plan, PlannedInput, PlannedStep};
use crate::error::{PipelineError, Result};
use crate::steps::{ExecutionInfo, StepConfig, StepContext, StepKind, StepLog, StepOutcome};
use crate::store::{
    now, tree_digest, ArtifactRecord, ArtifactStore, ExecutionStatus, MetadataStore, StepRecord,
    StepStatus, Stores,
};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Instant;

mod single;

/// A step thread's report.
struct Finished {
    index: usize,
    result: Result<(StepOutcome, BTreeMap<String, String>)>,
    log: String,
    seconds: f64,
}

pub(super) struct Driver<'a> {
    cfg: &'a ExecutorConfig,
    store: &'a dyn MetadataStore,
    artifacts: &'a dyn ArtifactStore,
    plan: &'a Plan,
    info: &'a ExecutionInfo,
    def: &'a PipelineDef,
    /// One per planned step, in plan order.
    runs: Vec<StepRun>,
    failure: Option<String>,
    /// Time during which at least one step was running.
    busy_seconds: f64,
}

impl<'a> Driver<'a> {
    pub fn new(
        cfg: &'a ExecutorConfig,
        stores: &'a Stores,
        plan: &'a Plan,
        info: &'a ExecutionInfo,
        def: &'a PipelineDef,
    ) -> Self {
        Driver {
            cfg,
            store: &*stores.metadata,
            artifacts: &*stores.artifacts,
            plan,
            info,
            def,
            runs: plan.steps.iter().map(|_| StepRun::pending()).collect(),
            failure: None,
            busy_seconds: 0.0,
        }
    }

    /// Runs the plan; `prior` are step runs of an interrupted attempt to take over.
    pub fn run(mut self, prior: BTreeMap<usize, StepRecord>) -> Result<ExecutionSummary> {
        let started = Instant::now();
        let plan = self.plan;
        for &i in &plan.order {
            if let Some(r) = prior.get(&i) {
                if self.ready(i) {
                    self.runs[i] = StepRun::reused(r);
                    self.after_done(i);
                }
            }
        }
        let (tx, rx) = mpsc::channel::<Finished>();
        std::thread::scope(|scope| -> Result<()> {
            let mut running = 0usize;
            let mut busy_since = Instant::now();
            loop {
                self.propagate_skips();
                if self.failure.is_none() {
                    for &i in &plan.order {
                        if running >= self.cfg.max_parallel.max(1) {
                            break;
                        }
                        if self.runs[i].state != State::Pending || !self.ready(i) {
                            continue;
                        }
                        let Some(ctx) = self.start(i)? else { continue };
                        if running == 0 {
                            busy_since = Instant::now();
                        }
                        running += 1;
                        let tx = tx.clone();
                        let (step, artifacts) = (&plan.steps[i], self.artifacts);
                        scope.spawn(move || {
                            let t0 = Instant::now();
                            let result = run_step(step, &ctx, artifacts);
                            let _ = std::fs::remove_dir_all(&ctx.staging);
                            let _ = tx.send(Finished {
                                index: i,
                                result,
                                log: ctx.log.excerpt(),
                                seconds: t0.elapsed().as_secs_f64(),
                            });
                        });
                    }
                    self.propagate_skips();
                }
                if running == 0 {
                    let progress = self.failure.is_none()
                        && plan
                            .order
                            .iter()
                            .any(|&i| self.runs[i].state == State::Pending && self.ready(i));
                    if !progress {
                        break;
                    }
                    continue;
                }
                let Ok(f) = rx.recv() else { break };
                running -= 1;
                if running == 0 {
                    self.busy_seconds += busy_since.elapsed().as_secs_f64();
                }
                self.finish(f)?;
            }
            Ok(())
        })?;
        self.skip_the_rest()?;
        let wall_s = started.elapsed().as_secs_f64();
        self.finalize(wall_s)
    }

    fn ready(&self, i: usize) -> bool {
        self.plan.steps[i]
            .deps
            .iter()
            .all(|&d| self.runs[d].succeeded())
    }

    fn propagate_skips(&mut self) {
        loop {
            let next = (0..self.plan.steps.len()).find_map(|i| {
                if self.runs[i].state != State::Pending {
                    return None;
                }
                let up = self.plan.steps[i]
                    .deps
                    .iter()
                    .find(|&&d| self.runs[d].blocks())?;
                Some((i, self.plan.steps[*up].name.clone()))
            });
            let Some((i, up)) = next else { break };
            if self
                .skip(i, format!("not run: upstream step {up} did not succeed"))
                .is_err()
            {
                break;
            }
        }
    }

    /// Records the step as Skipped, for `why`.
    fn skip(&mut self, i: usize, why: String) -> Result<()> {
        self.runs[i].done_now(StepStatus::Skipped, why);
        self.insert(i)
    }

    /// Inserts the step's run into the store and keeps its row.
    fn insert(&mut self, i: usize) -> Result<()> {
        let row = self
            .store
            .insert_step(&self.runs[i].record(&self.info.id, &self.plan.steps[i]))?;
        self.runs[i].row = row;
        Ok(())
    }

    /// Updates the step's run in the store.
    fn update(&self, i: usize) -> Result<()> {
        self.store
            .finish_step(&self.runs[i].record(&self.info.id, &self.plan.steps[i]))
    }

    /// Input name → (file or artifact directory, digest).
    fn resolve_inputs(
        &self,
        s: &PlannedStep,
    ) -> Result<BTreeMap<String, (std::path::PathBuf, String)>> {
        let mut out = BTreeMap::new();
        for (name, input) in &s.inputs {
            let resolved = match input {
                PlannedInput::File(p) => (p.clone(), tree_digest(p)?),
                PlannedInput::Step { step, output } => {
                    let d = self.runs[*step]
                        .outputs
                        .get(output)
                        .cloned()
                        .ok_or_else(|| PipelineError::StepFailed {
                            step: s.name.clone(),
                            message: format!(
                                "upstream step {} has no output {output}",
                                self.plan.steps[*step].name
                            ),
                        })?;
                    (self.artifacts.fetch(&d)?, d)
                }
            };
            out.insert(name.clone(), resolved);
        }
        Ok(out)
    }

    /// Decides cache or run: answers the step from the cache (None), or records it as
    /// Executing and returns the context to run it with.
    fn start(&mut self, i: usize) -> Result<Option<StepContext<'a>>> {
        let s: &'a PlannedStep = &self.plan.steps[i];
        let inputs = self.resolve_inputs(s)?;
        let digests: BTreeMap<String, String> = inputs
            .iter()
            .map(|(k, (_, d))| (k.clone(), d.clone()))
            .collect();
        let parts = cache::key_parts(
            &s.kind.to_string(),
            &s.config.to_json(),
            &digests,
            &self.cfg.code_version.to_string(),
        );
        let key = cache::key(&parts);
        let run = &mut self.runs[i];
        run.inputs = digests.clone();
        run.cache_key = Some(key.clone());
        run.key_parts = Some(parts.clone());
        let decision = if !s.cache {
            format!("not cacheable: {} steps always run", s.kind)
        } else if !self.cfg.cache.enabled {
            "miss: caching disabled (--no-cache)".to_string()
        } else {
            match self.store.cache_hit(&key)? {
                Some(hit) => match self.hit_or_miss(&hit) {
                    Ok(why) => {
                        self.cached(i, hit, why)?;
                        return Ok(None);
                    }
                    Err(miss) => miss,
                },
                None => {
                    let prev =
                        self.store
                            .previous_run(&self.info.pipeline, &s.name, &self.info.id)?;
                    cache::explain_miss(prev.as_ref(), &parts, &s.config_params)
                }
            }
        };
        tracing::info!(step = %s.name, %decision, "step starting");
        let run = &mut self.runs[i];
        run.state = State::Running;
        run.decision = Some(decision);
        run.started_at = now();
        let notes = run.notes.clone();
        self.insert(i)?;
        Ok(Some(StepContext {
            step: s.name.clone(),
            config_params: s.config_params.clone(),
            inputs: inputs.into_iter().map(|(k, (p, _))| (k, p)).collect(),
            input_digests: digests,
            staging: self.artifacts.staging_dir()?,
            execution: self.info,
            metadata: self.store,
            artifacts: self.artifacts,
            notes,
            log: StepLog::default(),
        }))
    }

    /// Whether a stored result with the same key can be reused (Ok: why) or not (Err:
    /// why not).
    fn hit_or_miss(&self, hit: &StepRecord) -> std::result::Result<String, String> {
        let age = cache::age(&hit.started_at).unwrap_or_default();
        let expired = self.cfg.cache.expire_after.is_some_and(|e| age > e);
        if expired {
            return Err(format!(
                "miss: the result of execution {} expired (age {} > expiry {})",
                hit.execution_id,
                cache::human(age),
                cache::human(self.cfg.cache.expire_after.unwrap_or_default())
            ));
        }
        let stored = hit
            .outputs
            .values()
            .map(|d| self.artifacts.contains(d))
            .collect::<Result<Vec<bool>>>();
        if let Err(e) = &stored {
            return Err(format!("miss: cannot check the artifact store: {e}"));
        }
        if !stored.is_ok_and(|s| s.iter().all(|&b| b)) {
            return Err(format!(
                "miss: the outputs of execution {} are gone from the artifact store",
                hit.execution_id
            ));
        }
        Ok(format!(
            "hit: same type, config, inputs and code version as execution {} ({} ago)",
            hit.execution_id,
            cache::human(age)
        ))
    }

    /// Answers the step with an earlier run's outputs.
    fn cached(&mut self, i: usize, hit: StepRecord, why: String) -> Result<()> {
        tracing::info!(step = %self.plan.steps[i].name, decision = %why, "step cached");
        let run = &mut self.runs[i];
        run.done_now(StepStatus::Cached, why);
        run.cached_from = Some(hit.execution_id);
        run.outputs = hit.outputs;
        run.properties = hit.properties;
        self.insert(i)?;
        self.after_done(i);
        Ok(())
    }

    /// A step thread finished: record its outputs or its failure.
    fn finish(&mut self, f: Finished) -> Result<()> {
        let i = f.index;
        let plan = self.plan;
        let name = &plan.steps[i].name;
        let run = &mut self.runs[i];
        run.ended_at = Some(now());
        run.duration_s = Some(f.seconds);
        run.log_excerpt = f.log;
        match f.result {
            Ok((outcome, outputs)) => {
                for (output, digest) in &outputs {
                    self.store.record_artifact(&ArtifactRecord {
                        digest: digest.clone(),
                        step: name.clone(),
                        output: output.clone(),
                        execution_id: self.info.id.clone(),
                        parents: run.inputs.clone(),
                        created_at: now(),
                    })?;
                }
                run.state = State::Done(StepStatus::Succeeded);
                run.outputs = outputs;
                run.properties = outcome.properties;
                self.update(i)?;
                tracing::info!(step = %name, seconds = f.seconds, "step succeeded");
                self.after_done(i);
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(step = %name, error = %reason, "step failed");
                run.state = State::Done(StepStatus::Failed);
                run.failure_reason = Some(reason.clone());
                self.update(i)?;
                if self.failure.is_none() {
                    self.failure = Some(match e {
                        PipelineError::StepFailed { .. } => reason,
                        _ => format!("step {name:?} failed: {reason}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// A condition decided: skip the branch not taken (and what depends only on it), and
    /// tell the taken branch why it runs.
    fn after_done(&mut self, i: usize) {
        let Some((outcome, expr, not_taken)) = self.note_condition(i) else {
            return;
        };
        let s: &'a PlannedStep = &self.plan.steps[i];
        let deps: Vec<Vec<usize>> = self.plan.steps.iter().map(|s| s.deps.clone()).collect();
        for n in not_taken {
            let Some(j) = self.plan.index(n) else {
                continue;
            };
            if self.runs[j].state != State::Pending {
                continue;
            }
            let why = format!("not run: condition {} was {outcome} ({expr})", s.name);
            let _ = self.skip(j, why);
            for k in dag::descendants(&deps, j) {
                if self.runs[k].state == State::Pending {
                    let _ = self.skip(k, format!("not run: upstream step {n} was skipped"));
                }
            }
        }
    }

    /// For a finished condition: tells the branch taken why it runs, and returns the
    /// outcome, the expression and the branch not taken (None for other steps).
    fn note_condition(&mut self, i: usize) -> Option<(bool, String, &'a [String])> {
        let s: &'a PlannedStep = &self.plan.steps[i];
        let StepConfig::Condition(c) = &s.config else {
            return None;
        };
        let props = &self.runs[i].properties;
        let outcome = props["outcome"].as_bool().unwrap_or(false);
        let expr = props["expression"].as_str().unwrap_or("").to_string();
        let (taken, not_taken) = if outcome {
            (&c.if_true, &c.if_false)
        } else {
            (&c.if_false, &c.if_true)
        };
        for n in taken {
            if let Some(j) = self.plan.index(n) {
                self.runs[j]
                    .notes
                    .push(format!("condition {}: {expr}", s.name));
            }
        }
        Some((outcome, expr, not_taken))
    }

    /// Records whatever never ran as Skipped, with the reason.
    fn skip_the_rest(&mut self) -> Result<()> {
        for i in 0..self.plan.steps.len() {
            if self.runs[i].state == State::Pending {
                let why = match &self.failure {
                    Some(_) => "not run: the execution failed",
                    None => "not run: an upstream step was skipped",
                };
                self.skip(i, why.to_string())?;
            }
        }
        Ok(())
    }

    fn finalize(self, wall_s: f64) -> Result<ExecutionSummary> {
        let status = if self.failure.is_some() {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Succeeded
        };
        let mut registered = None;
        for (s, r) in self.plan.steps.iter().zip(&self.runs) {
            if s.kind == StepKind::Register {
                if let Some(v) = r.properties["model_version"].as_str() {
                    registered = self.store.version(v)?;
                }
            }
        }
        let steps = self
            .plan
            .order
            .iter()
            .map(|&i| self.runs[i].summary(&self.plan.steps[i]))
            .collect();
        let manifest = Manifest::new(
            self.info,
            self.def,
            self.plan,
            &self.runs,
            Outcome {
                status,
                failure_reason: self.failure.as_deref(),
                wall_seconds: wall_s,
                registered: registered.as_ref(),
            },
        )
        .to_json();
        manifest::write(&self.cfg.home, &self.info.id, &manifest)?;
        self.store
            .finish_execution(&self.info.id, status, self.failure.as_deref(), &manifest)?;
        let overhead_s = (wall_s - self.busy_seconds).max(0.0);
        tracing::info!(execution = %self.info.id, %status, wall_s, overhead_s, "execution finished");
        Ok(ExecutionSummary {
            id: self.info.id.clone(),
            status,
            failure_reason: self.failure,
            steps,
            registered,
            wall_s,
            overhead_s,
        })
    }
}

/// Runs a step (a panic becomes the step's failure) and commits the outputs it left in
/// its staging directory.
fn run_step(
    step: &PlannedStep,
    ctx: &StepContext,
    artifacts: &dyn ArtifactStore,
) -> Result<(StepOutcome, BTreeMap<String, String>)> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step.config.run(ctx)))
        .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(ctx.fail(format!("the step panicked: {msg}")))
    })?;
    let mut outputs = outcome.committed.clone();
    for name in step.kind.outputs() {
        if !outputs.contains_key(*name) {
            outputs.insert(name.to_string(), artifacts.commit(&ctx.output_path(name))?);
        }
    }
    Ok((outcome, outputs))
}
