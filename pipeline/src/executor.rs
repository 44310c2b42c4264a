//! The executor: runs a plan's steps in dependency order, independent steps at once (one
//! thread each, up to a limit), answering steps from the cache where the key matches, and
//! records everything in the metadata store as it happens.
use crate::cache::{self, CachePolicy};
use crate::dag;
use crate::definition::{PipelineDef, Plan, PlannedInput};
use crate::error::{PipelineError, Result};
use crate::home::{CodeVersion, Home};
use crate::params::{self, ParamValue, ParamValues};
use crate::steps::{ExecutionInfo, StepContext, StepKind, StepLog, StepOutcome};
use crate::store::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

/// Staging directories older than this belong to a process that is gone.
const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How executions run.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    pub home: Home,
    pub cache: CachePolicy,
    pub code_version: CodeVersion,
    /// Steps running at once.
    pub max_parallel: usize,
}

impl ExecutorConfig {
    pub fn new(home: Home) -> Self {
        ExecutorConfig {
            home,
            cache: CachePolicy::default(),
            code_version: CodeVersion::detect(),
            max_parallel: 4,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub definition: PipelineDef,
    /// Typed values (e.g. from a parameters file).
    pub values: BTreeMap<String, ParamValue>,
    /// `name=value` overrides, checked against the declared types.
    pub overrides: Vec<(String, String)>,
    /// Why it runs ("manual", "watch: …", "drift: …").
    pub trigger: String,
}

impl RunRequest {
    pub fn new(definition: PipelineDef) -> Self {
        RunRequest {
            definition,
            values: BTreeMap::new(),
            overrides: Vec::new(),
            trigger: "manual".into(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepSummary {
    pub name: String,
    pub status: StepStatus,
    pub duration_s: f64,
    pub decision: Option<String>,
    pub failure_reason: Option<String>,
}

/// The result of an execution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExecutionSummary {
    pub id: String,
    pub status: ExecutionStatus,
    pub failure_reason: Option<String>,
    pub steps: Vec<StepSummary>,
    /// The version the register step registered (or found already registered).
    pub registered: Option<ModelVersion>,
    pub wall_s: f64,
    /// Wall time minus the time during which some step was running: planning, cache
    /// look-ups, bookkeeping and store writes.
    pub overhead_s: f64,
}

/// Runs a pipeline. Every input problem (unknown parameter, wrong type, bad reference,
/// missing data file, invalid step configuration) is an error before anything runs.
pub fn execute(cfg: &ExecutorConfig, req: &RunRequest) -> Result<ExecutionSummary> {
    let values = params::resolve(&req.definition.parameters, &req.values, &req.overrides)?;
    let plan = req.definition.plan(&values)?;
    cfg.home.ensure()?;
    let store = SqliteStore::open(&cfg.home.db_path())?;
    let id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let info = ExecutionInfo {
        id: id.clone(),
        pipeline: req.definition.name.clone(),
        parameters: values.clone(),
        code_version: cfg.code_version.clone(),
        trigger: req.trigger.clone(),
    };
    store.create_execution(&ExecutionRecord {
        id: id.clone(),
        pipeline: info.pipeline.clone(),
        status: ExecutionStatus::Executing,
        parameters: serde_json::to_value(&values).unwrap_or_default(),
        definition: serde_json::to_value(&req.definition).unwrap_or_default(),
        code_version: cfg.code_version.to_string(),
        trigger: req.trigger.clone(),
        pid: std::process::id(),
        started_at: now(),
        ended_at: None,
        failure_reason: None,
        manifest: None,
    })?;
    tracing::info!(execution = %id, pipeline = %info.pipeline, trigger = %req.trigger, "execution started");
    let artifacts = FsArtifactStore::new(cfg.home.artifacts_dir());
    let cleaned = artifacts.clean_staging(STALE_STAGING);
    if cleaned > 0 {
        tracing::info!(
            cleaned,
            "removed staging directories left by interrupted runs"
        );
    }
    Driver::new(cfg, (&store, &artifacts), &plan, &info, &req.definition).run(BTreeMap::new())
}

/// Continues an execution that was interrupted (or failed) after its last successful
/// step: steps that succeeded keep their outputs, the others run again.
pub fn resume(cfg: &ExecutorConfig, execution_id: &str) -> Result<ExecutionSummary> {
    let store = SqliteStore::open(&cfg.home.db_path())?;
    let rec = store
        .execution(execution_id)?
        .ok_or_else(|| PipelineError::NotFound {
            what: "execution",
            id: execution_id.to_string(),
        })?;
    let err = |reason: String| PipelineError::Resume {
        id: rec.id.clone(),
        reason,
    };
    match rec.status {
        ExecutionStatus::Succeeded => return Err(err("it already succeeded".into())),
        ExecutionStatus::Executing if !rec.interrupted() => {
            return Err(err(format!("it is still running (process {})", rec.pid)))
        }
        _ => {}
    }
    let def: PipelineDef = serde_json::from_value(rec.definition.clone())
        .map_err(|e| err(format!("stored definition unreadable: {e}")))?;
    let typed: BTreeMap<String, ParamValue> = serde_json::from_value(rec.parameters.clone())
        .map_err(|e| err(format!("stored parameters unreadable: {e}")))?;
    let values = params::resolve(&def.parameters, &typed, &[])?;
    let plan = def.plan(&values)?;
    let artifacts = FsArtifactStore::new(cfg.home.artifacts_dir());
    let mut prior = BTreeMap::new();
    for s in store.steps(&rec.id)? {
        match s.status {
            StepStatus::Executing => {
                let mut s = s.clone();
                s.status = StepStatus::Failed;
                s.ended_at = Some(now());
                s.failure_reason =
                    Some("interrupted: the process running this step stopped".into());
                store.finish_step(&s)?;
            }
            StepStatus::Succeeded | StepStatus::Cached => {
                if let Some(i) = plan.index(&s.step) {
                    if s.outputs.values().all(|d| artifacts.contains(d)) {
                        prior.insert(i, s);
                    }
                }
            }
            _ => {}
        }
    }
    store.set_execution_status(&rec.id, ExecutionStatus::Executing, None)?;
    let info = ExecutionInfo {
        id: rec.id.clone(),
        pipeline: rec.pipeline.clone(),
        parameters: values,
        code_version: cfg.code_version.clone(),
        trigger: format!("{} (resumed)", rec.trigger),
    };
    tracing::info!(execution = %rec.id, reused = prior.len(), "resuming execution");
    Driver::new(cfg, (&store, &artifacts), &plan, &info, &def).run(prior)
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Running,
    Done(StepStatus),
}

struct Finished {
    index: usize,
    row: i64,
    result: Result<(StepOutcome, BTreeMap<String, String>)>,
    log: String,
    seconds: f64,
}

struct Driver<'a> {
    cfg: &'a ExecutorConfig,
    store: &'a SqliteStore,
    artifacts: &'a FsArtifactStore,
    plan: &'a Plan,
    info: &'a ExecutionInfo,
    def: &'a PipelineDef,
    deps: Vec<Vec<usize>>,
    state: Vec<State>,
    outputs: Vec<BTreeMap<String, String>>,
    inputs: Vec<BTreeMap<String, String>>,
    properties: Vec<Value>,
    decisions: Vec<Option<String>>,
    records: Vec<Option<StepRecord>>,
    notes: Vec<Vec<String>>,
    failure: Option<String>,
    /// Time during which at least one step was running.
    busy_seconds: f64,
}

impl<'a> Driver<'a> {
    fn new(
        cfg: &'a ExecutorConfig,
        stores: (&'a SqliteStore, &'a FsArtifactStore),
        plan: &'a Plan,
        info: &'a ExecutionInfo,
        def: &'a PipelineDef,
    ) -> Self {
        let (store, artifacts) = stores;
        let n = plan.steps.len();
        Driver {
            cfg,
            store,
            artifacts,
            plan,
            info,
            def,
            deps: plan.steps.iter().map(|s| s.deps.clone()).collect(),
            state: vec![State::Pending; n],
            outputs: vec![BTreeMap::new(); n],
            inputs: vec![BTreeMap::new(); n],
            properties: vec![Value::Null; n],
            decisions: vec![None; n],
            records: vec![None; n],
            notes: vec![Vec::new(); n],
            failure: None,
            busy_seconds: 0.0,
        }
    }

    fn run(mut self, prior: BTreeMap<usize, StepRecord>) -> Result<ExecutionSummary> {
        let started = Instant::now();
        for &i in &self.plan.order.clone() {
            if let Some(r) = prior.get(&i) {
                if self.deps[i].iter().all(|&d| {
                    matches!(
                        self.state[d],
                        State::Done(StepStatus::Succeeded | StepStatus::Cached)
                    )
                }) {
                    self.outputs[i] = r.outputs.clone();
                    self.properties[i] = r.properties.clone();
                    self.decisions[i] = Some(format!(
                        "reused from before the interruption ({})",
                        r.status
                    ));
                    self.records[i] = Some(r.clone());
                    self.state[i] = State::Done(r.status);
                    self.after_done(i);
                }
            }
        }
        let (tx, rx) = mpsc::channel::<Finished>();
        let result = std::thread::scope(|scope| -> Result<()> {
            let mut running = 0usize;
            let mut busy_since = Instant::now();
            loop {
                self.propagate_skips();
                if self.failure.is_none() {
                    for &i in &self.plan.order {
                        if running >= self.cfg.max_parallel.max(1) {
                            break;
                        }
                        if self.state[i] != State::Pending || !self.ready(i) {
                            continue;
                        }
                        if let Some((row, ctx)) = self.start(i)? {
                            if running == 0 {
                                busy_since = Instant::now();
                            }
                            self.state[i] = State::Running;
                            running += 1;
                            let tx = tx.clone();
                            let kind = self.plan.steps[i].kind;
                            let store: &'a dyn ArtifactStore = self.artifacts;
                            scope.spawn(move || {
                                let t0 = Instant::now();
                                let result = run_step(kind, &ctx, store);
                                let _ = std::fs::remove_dir_all(&ctx.staging);
                                let _ = tx.send(Finished {
                                    index: i,
                                    row,
                                    result,
                                    log: ctx.log.excerpt(),
                                    seconds: t0.elapsed().as_secs_f64(),
                                });
                            });
                        }
                    }
                    self.propagate_skips();
                }
                if running == 0 {
                    let progress = self.failure.is_none()
                        && self
                            .plan
                            .order
                            .iter()
                            .any(|&i| self.state[i] == State::Pending && self.ready(i));
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
        });
        result?;
        // Whatever never ran is Skipped, with the reason.
        for i in 0..self.plan.steps.len() {
            if self.state[i] == State::Pending {
                let why = match &self.failure {
                    Some(_) => "not run: the execution failed".to_string(),
                    None => "not run: an upstream step was skipped".to_string(),
                };
                self.skip(i, &why)?;
            }
        }
        let wall_s = started.elapsed().as_secs_f64();
        self.finalize(wall_s)
    }

    fn ready(&self, i: usize) -> bool {
        self.deps[i].iter().all(|&d| {
            matches!(
                self.state[d],
                State::Done(StepStatus::Succeeded | StepStatus::Cached)
            )
        })
    }

    fn propagate_skips(&mut self) {
        loop {
            let next = (0..self.plan.steps.len()).find(|&i| {
                self.state[i] == State::Pending
                    && self.deps[i].iter().any(|&d| {
                        matches!(
                            self.state[d],
                            State::Done(StepStatus::Skipped | StepStatus::Failed)
                        )
                    })
            });
            let Some(i) = next else { break };
            let up = self.deps[i]
                .iter()
                .find(|&&d| {
                    matches!(
                        self.state[d],
                        State::Done(StepStatus::Skipped | StepStatus::Failed)
                    )
                })
                .map(|&d| self.plan.steps[d].name.clone())
                .unwrap_or_default();
            if self
                .skip(i, &format!("not run: upstream step {up} did not succeed"))
                .is_err()
            {
                break;
            }
        }
    }

    fn skip(&mut self, i: usize, why: &str) -> Result<()> {
        let s = &self.plan.steps[i];
        let at = now();
        let rec = StepRecord {
            id: 0,
            execution_id: self.info.id.clone(),
            step: s.name.clone(),
            kind: s.kind.to_string(),
            status: StepStatus::Skipped,
            cache_key: None,
            key_parts: None,
            cache_decision: Some(why.to_string()),
            cached_from: None,
            outputs: BTreeMap::new(),
            properties: Value::Null,
            started_at: at.clone(),
            ended_at: Some(at),
            duration_s: Some(0.0),
            log_excerpt: String::new(),
            failure_reason: None,
        };
        self.store.insert_step(&rec)?;
        self.decisions[i] = Some(why.to_string());
        self.records[i] = Some(rec);
        self.state[i] = State::Done(StepStatus::Skipped);
        Ok(())
    }

    /// Decides cache or run; returns the context for a step to run.
    fn start(&mut self, i: usize) -> Result<Option<(i64, StepContext<'a>)>> {
        let s = &self.plan.steps[i];
        let mut paths = BTreeMap::new();
        let mut digests = BTreeMap::new();
        for (name, input) in &s.inputs {
            match input {
                PlannedInput::File(p) => {
                    digests.insert(name.clone(), tree_digest(p)?);
                    paths.insert(name.clone(), p.clone());
                }
                PlannedInput::Step { step, output } => {
                    let d = self.outputs[*step].get(output).cloned().ok_or_else(|| {
                        PipelineError::StepFailed {
                            step: s.name.clone(),
                            message: format!(
                                "upstream step {} has no output {output}",
                                self.plan.steps[*step].name
                            ),
                        }
                    })?;
                    paths.insert(name.clone(), self.artifacts.path(&d));
                    digests.insert(name.clone(), d);
                }
            }
        }
        self.inputs[i] = digests.clone();
        let parts = cache::key_parts(
            &s.kind.to_string(),
            &s.config,
            &digests,
            &self.cfg.code_version.to_string(),
        );
        let key = cache::key(&parts);
        let decision = if !s.cache {
            format!("not cacheable: {} steps always run", s.kind)
        } else if !self.cfg.cache.enabled {
            "miss: caching disabled (--no-cache)".to_string()
        } else {
            match self.store.cache_hit(&key)? {
                Some(hit) => {
                    let age = cache::age(&hit.started_at).unwrap_or_default();
                    let expired = self.cfg.cache.expire_after.is_some_and(|e| age > e);
                    let present = hit.outputs.values().all(|d| self.artifacts.contains(d));
                    if expired {
                        format!(
                            "miss: the result of execution {} expired (age {} > expiry {})",
                            hit.execution_id,
                            cache::human(age),
                            cache::human(self.cfg.cache.expire_after.unwrap_or_default())
                        )
                    } else if !present {
                        format!(
                            "miss: the outputs of execution {} are gone from the artifact store",
                            hit.execution_id
                        )
                    } else {
                        let why = format!(
                            "hit: same type, config, inputs and code version as execution {} ({} ago)",
                            hit.execution_id,
                            cache::human(age)
                        );
                        self.cached(i, &hit, key, parts, why)?;
                        return Ok(None);
                    }
                }
                None => {
                    let prev =
                        self.store
                            .previous_run(&self.info.pipeline, &s.name, &self.info.id)?;
                    cache::explain_miss(prev.as_ref(), &parts, &s.config_params)
                }
            }
        };
        tracing::info!(step = %s.name, %decision, "step starting");
        let rec = StepRecord {
            id: 0,
            execution_id: self.info.id.clone(),
            step: s.name.clone(),
            kind: s.kind.to_string(),
            status: StepStatus::Executing,
            cache_key: Some(key),
            key_parts: Some(parts),
            cache_decision: Some(decision.clone()),
            cached_from: None,
            outputs: BTreeMap::new(),
            properties: Value::Null,
            started_at: now(),
            ended_at: None,
            duration_s: None,
            log_excerpt: String::new(),
            failure_reason: None,
        };
        let row = self.store.insert_step(&rec)?;
        self.decisions[i] = Some(decision);
        self.records[i] = Some(StepRecord { id: row, ..rec });
        let cfg: &'a ExecutorConfig = self.cfg;
        let artifacts: &'a FsArtifactStore = self.artifacts;
        let ctx = StepContext {
            step: s.name.clone(),
            config: s.config.as_object().cloned().unwrap_or_default(),
            config_params: s.config_params.clone(),
            inputs: paths,
            input_digests: digests,
            staging: self.artifacts.staging_dir()?,
            execution: self.info,
            home: &cfg.home,
            store: artifacts,
            notes: self.notes[i].clone(),
            log: StepLog::default(),
        };
        Ok(Some((row, ctx)))
    }

    fn cached(
        &mut self,
        i: usize,
        hit: &StepRecord,
        key: String,
        parts: Value,
        why: String,
    ) -> Result<()> {
        let s = &self.plan.steps[i];
        tracing::info!(step = %s.name, decision = %why, "step cached");
        let at = now();
        let rec = StepRecord {
            id: 0,
            execution_id: self.info.id.clone(),
            step: s.name.clone(),
            kind: s.kind.to_string(),
            status: StepStatus::Cached,
            cache_key: Some(key),
            key_parts: Some(parts),
            cache_decision: Some(why.clone()),
            cached_from: Some(hit.execution_id.clone()),
            outputs: hit.outputs.clone(),
            properties: hit.properties.clone(),
            started_at: at.clone(),
            ended_at: Some(at),
            duration_s: Some(0.0),
            log_excerpt: String::new(),
            failure_reason: None,
        };
        let id = self.store.insert_step(&rec)?;
        self.outputs[i] = hit.outputs.clone();
        self.properties[i] = hit.properties.clone();
        self.decisions[i] = Some(why);
        self.records[i] = Some(StepRecord { id, ..rec });
        self.state[i] = State::Done(StepStatus::Cached);
        self.after_done(i);
        Ok(())
    }

    fn finish(&mut self, f: Finished) -> Result<()> {
        let i = f.index;
        let name = self.plan.steps[i].name.clone();
        let mut rec = self.records[i]
            .clone()
            .unwrap_or_else(|| unreachable!("started steps have records"));
        rec.id = f.row;
        rec.ended_at = Some(now());
        rec.duration_s = Some(f.seconds);
        rec.log_excerpt = f.log;
        match f.result {
            Ok((outcome, outputs)) => {
                for (output, digest) in &outputs {
                    self.store.record_artifact(&ArtifactRecord {
                        digest: digest.clone(),
                        step: name.clone(),
                        output: output.clone(),
                        execution_id: self.info.id.clone(),
                        parents: self.inputs[i].clone(),
                        created_at: now(),
                    })?;
                }
                rec.status = StepStatus::Succeeded;
                rec.outputs = outputs.clone();
                rec.properties = outcome.properties.clone();
                self.store.finish_step(&rec)?;
                tracing::info!(step = %name, seconds = f.seconds, "step succeeded");
                self.outputs[i] = outputs;
                self.properties[i] = outcome.properties;
                self.records[i] = Some(rec);
                self.state[i] = State::Done(StepStatus::Succeeded);
                self.after_done(i);
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(step = %name, error = %reason, "step failed");
                rec.status = StepStatus::Failed;
                rec.failure_reason = Some(reason.clone());
                self.store.finish_step(&rec)?;
                self.records[i] = Some(rec);
                self.state[i] = State::Done(StepStatus::Failed);
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
        let s = &self.plan.steps[i];
        if s.kind != StepKind::Condition {
            return;
        }
        let outcome = self.properties[i]["outcome"].as_bool().unwrap_or(false);
        let expr = self.properties[i]["expression"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let Some(def) = self.def.step(&s.name) else {
            return;
        };
        let (taken, not_taken) = if outcome {
            ("if_true", "if_false")
        } else {
            ("if_false", "if_true")
        };
        let names = |k: &str| crate::definition::branch(&def.config, k).unwrap_or_default();
        let cond_name = s.name.clone();
        for n in names(taken) {
            if let Some(j) = self.plan.index(&n) {
                self.notes[j].push(format!("condition {cond_name}: {expr}"));
            }
        }
        for n in names(not_taken) {
            if let Some(j) = self.plan.index(&n) {
                if self.state[j] == State::Pending {
                    let why = format!("not run: condition {cond_name} was {outcome} ({expr})");
                    let _ = self.skip(j, &why);
                    for k in dag::descendants(&self.deps, j) {
                        if self.state[k] == State::Pending {
                            let _ =
                                self.skip(k, &format!("not run: upstream step {n} was skipped"));
                        }
                    }
                }
            }
        }
    }

    fn finalize(self, wall_s: f64) -> Result<ExecutionSummary> {
        let status = if self.failure.is_some() {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Succeeded
        };
        let mut registered = None;
        for (i, s) in self.plan.steps.iter().enumerate() {
            if s.kind == StepKind::Register {
                if let Some(v) = self.properties[i]["model_version"].as_str() {
                    registered = self.store.version(v)?;
                }
            }
        }
        let steps: Vec<StepSummary> = self
            .plan
            .order
            .iter()
            .map(|&i| {
                let r = self.records[i].as_ref();
                StepSummary {
                    name: self.plan.steps[i].name.clone(),
                    status: match &self.state[i] {
                        State::Done(s) => *s,
                        _ => StepStatus::Skipped,
                    },
                    duration_s: r.and_then(|r| r.duration_s).unwrap_or(0.0),
                    decision: self.decisions[i].clone(),
                    failure_reason: r.and_then(|r| r.failure_reason.clone()),
                }
            })
            .collect();
        let manifest = json!({
            "execution": self.info.id,
            "pipeline": self.info.pipeline,
            "status": status,
            "trigger": self.info.trigger,
            "code_version": self.info.code_version,
            "parameters": self.info.parameters,
            "failure_reason": self.failure,
            "wall_seconds": wall_s,
            "steps": self.plan.order.iter().map(|&i| {
                let s = &self.plan.steps[i];
                let r = self.records[i].as_ref();
                json!({
                    "name": s.name, "type": s.kind, "status": steps.iter().find(|x| x.name == s.name).map(|x| x.status),
                    "depends_on": s.deps.iter().map(|&d| self.plan.steps[d].name.clone()).collect::<Vec<_>>(),
                    "config": s.config, "inputs": self.inputs[i], "outputs": self.outputs[i],
                    "cache_key": r.and_then(|r| r.cache_key.clone()), "cache_decision": self.decisions[i],
                    "cached_from": r.and_then(|r| r.cached_from.clone()),
                    "duration_s": r.and_then(|r| r.duration_s), "properties": self.properties[i],
                    "failure_reason": r.and_then(|r| r.failure_reason.clone()),
                })
            }).collect::<Vec<_>>(),
            "registered": registered.as_ref().map(|v| json!({"version": v.version, "group": v.group, "number": v.number, "status": v.status})),
            "definition": self.def,
        });
        write_manifest(&self.cfg.home, &self.info.id, &manifest)?;
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

fn run_step(
    kind: StepKind,
    ctx: &StepContext,
    store: &dyn ArtifactStore,
) -> Result<(StepOutcome, BTreeMap<String, String>)> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kind.run(ctx)))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(ctx.fail(format!("the step panicked: {msg}")))
        })?;
    let mut outputs = outcome.committed.clone();
    for name in kind.outputs() {
        if !outputs.contains_key(*name) {
            let dir: PathBuf = ctx.output_path(name);
            outputs.insert(name.to_string(), store.commit(&dir)?);
        }
    }
    Ok((outcome, outputs))
}

fn write_manifest(home: &Home, id: &str, manifest: &Value) -> Result<()> {
    let dir = home.manifests_dir();
    std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    let path = dir.join(format!("{id}.json"));
    let tmp = dir.join(format!(".{id}.json.tmp"));
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|e| PipelineError::json(&path, e))?;
    std::fs::write(&tmp, bytes).map_err(|e| PipelineError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| PipelineError::io(&path, e))
}

/// Parameter values as stored (for display).
pub fn values_json(v: &ParamValues) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}
