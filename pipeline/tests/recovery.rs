//! Crash recovery, concurrent executions, triggers and custom TOML definitions.
#[macro_use]
mod common;
use common::*;
use pipeline::{
    execute, resume, ExecutionStatus, PipelineDef, PipelineSource, RunRequest, StepStatus,
    WatchConfig,
};
use std::sync::atomic::AtomicBool;

on_both_backends!(
    resume_continues_after_a_crash,
    two_executions_at_once,
    custom_definition_and_watch_trigger
);

fn resume_continues_after_a_crash(backend: Backend) {
    let e = env_on(backend, 300, 6);
    let s = execute(&e.cfg, &e.stores, &request(&e.data, &[])).unwrap();
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    let version = s.registered.clone().unwrap().version;
    // What kill -9 during `evaluate` leaves: the execution and that step Executing, later
    // steps never started, no registered version.
    e.sql(&format!(
        "UPDATE executions SET status = 'Executing', ended_at = NULL, pid = 999999999 WHERE id = '{id}';
         UPDATE step_runs SET status = 'Executing', ended_at = NULL WHERE execution_id = '{id}' AND step = 'evaluate';
         DELETE FROM step_runs WHERE execution_id = '{id}' AND step IN ('baseline', 'quality_gate', 'register', 'fail');
         {guard}
         DELETE FROM registry_events; DELETE FROM model_versions;",
        id = s.id,
        guard = e.drop_history_guard(),
    ));
    let store = &*e.stores.metadata;
    assert!(store.execution(&s.id).unwrap().unwrap().interrupted());
    let mut cfg = e.cfg.clone();
    cfg.cache.enabled = false; // prove reuse comes from resume, not the cache
    let r = resume(&cfg, &e.stores, &s.id[..12]).unwrap();
    assert_eq!(r.id, s.id);
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{r:?}");
    let rows = store.steps(&s.id).unwrap();
    assert_eq!(
        rows.iter().filter(|x| x.step == "train").count(),
        1,
        "train not rerun"
    );
    let evals: Vec<_> = rows.iter().filter(|x| x.step == "evaluate").collect();
    assert_eq!(evals.len(), 2);
    assert_eq!(evals[0].status, StepStatus::Failed);
    assert!(evals[0]
        .failure_reason
        .as_deref()
        .unwrap()
        .contains("interrupted"));
    assert_eq!(evals[1].status, StepStatus::Succeeded);
    assert_eq!(
        r.registered.unwrap().version,
        version,
        "same model, same package"
    );
    assert!(
        resume(&cfg, &e.stores, &s.id).is_err(),
        "a succeeded execution cannot be resumed"
    );
}

fn two_executions_at_once(backend: Backend) {
    let e = env_on(backend, 300, 7);
    let other = e.dir.path().join("other.csv");
    train::demo::write_csv(&other, 300, 8).unwrap();
    // Each with its own stores, as two processes would have.
    let (sa, sb) = (
        e.cfg.home.open_stores().unwrap(),
        e.cfg.home.open_stores().unwrap(),
    );
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| execute(&e.cfg, &sa, &request(&e.data, &[])));
        let b = s.spawn(|| execute(&e.cfg, &sb, &request(&other, &[("auto_approve", "true")])));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert_eq!(a.status, ExecutionStatus::Succeeded, "{a:?}");
    assert_eq!(b.status, ExecutionStatus::Succeeded, "{b:?}");
    let mut numbers = vec![a.registered.unwrap().number, b.registered.unwrap().number];
    numbers.sort();
    assert_eq!(numbers, vec![1, 2]);
    let store = &*e.stores.metadata;
    assert_eq!(store.executions(10).unwrap().len(), 2);
}

const VALIDATE_ONLY: &str = r#"
name = "check"
[parameters.input_data]
type = "string"
[parameters.dup]
type = "float"
default = 0.5
[[steps]]
name = "check_data"
type = "validate"
inputs = { data = "params.input_data" }
config = { max_duplicate_share = "$dup" }
[[steps]]
name = "split"
type = "process"
inputs = { dataset = "steps.check_data.outputs.dataset" }
config = { test = 0.2 }
"#;

fn custom_definition_and_watch_trigger(backend: Backend) {
    let e = env_on(backend, 80, 9);
    let def_path = e.dir.path().join("check.toml");
    std::fs::write(&def_path, VALIDATE_ONLY).unwrap();
    let def = PipelineDef::from_file(&def_path).unwrap();
    let mut r = RunRequest::new(def);
    r.overrides
        .push(("input_data".into(), e.data.display().to_string()));
    let s = execute(&e.cfg, &e.stores, &r).unwrap();
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(
        s.steps.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        vec!["check_data", "split"]
    );

    let folder = e.dir.path().join("incoming");
    std::fs::create_dir_all(&folder).unwrap();
    train::demo::write_csv(&folder.join("old.csv"), 60, 1).unwrap();
    let w = WatchConfig {
        folder: folder.clone(),
        data_param: "input_data".into(),
        interval: std::time::Duration::from_millis(100),
        max_runs: Some(1),
        source: PipelineSource {
            definition: Some(def_path),
            ..Default::default()
        },
    };
    let stop = AtomicBool::new(false);
    let runs = std::thread::scope(|sc| {
        sc.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            train::demo::write_csv(&folder.join("new.csv"), 70, 2).unwrap();
        });
        pipeline::watch(&e.cfg, &e.stores, &w, &stop).unwrap()
    });
    assert_eq!(runs.len(), 1);
    let store = &*e.stores.metadata;
    let rec = store.execution(&runs[0].id).unwrap().unwrap();
    assert!(
        rec.trigger.contains("new data file") && rec.trigger.contains("new.csv"),
        "{}",
        rec.trigger
    );
    assert_eq!(runs[0].status, ExecutionStatus::Succeeded);
}
