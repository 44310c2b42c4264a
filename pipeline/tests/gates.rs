//! Failure paths: a failing quality gate, a failing step, bad input refused up front.
#[macro_use]
mod common;
use common::*;
use pipeline::{execute, ExecutionStatus, PipelineDef, PipelineError, RunRequest, StepStatus};

on_both_backends!(
    failing_condition_registers_nothing_and_says_why,
    a_failed_step_error_reaches_describe,
    bad_input_is_refused_before_anything_runs
);

fn failing_condition_registers_nothing_and_says_why(backend: Backend) {
    let e = env_on(backend, 300, 3);
    let s = execute(
        &e.cfg,
        &e.stores,
        &request(&e.data, &[("min_accuracy", "1.01")]),
    )
    .unwrap();
    assert_eq!(s.status, ExecutionStatus::Failed);
    let reason = s.failure_reason.clone().unwrap();
    assert!(reason.contains("quality gate"), "{reason}");
    assert!(
        reason.contains("metrics.balanced_accuracy.value = 0."),
        "{reason}"
    );
    assert!(reason.contains("is not >= min_accuracy = 1.01"), "{reason}");
    assert_eq!(step(&s, "register").status, StepStatus::Skipped);
    assert_eq!(step(&s, "fail").status, StepStatus::Failed);
    assert!(s.registered.is_none());
    assert!(e.stores.registry().list(None).unwrap().is_empty());
    let store = &*e.stores.metadata;
    let rec = store.execution(&s.id).unwrap().unwrap();
    assert_eq!(rec.status, ExecutionStatus::Failed);
    assert!(rec.failure_reason.unwrap().contains("1.01"));
    let text = describe(&e, &s.id);
    assert!(
        text.contains("not run: condition quality_gate was false"),
        "{text}"
    );
}

fn a_failed_step_error_reaches_describe(backend: Backend) {
    let e = env_on(backend, 100, 4);
    let s = execute(
        &e.cfg,
        &e.stores,
        &request(&e.data, &[("label_column", "Stars")]),
    )
    .unwrap();
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(step(&s, "validate").status, StepStatus::Failed);
    assert_eq!(step(&s, "train").status, StepStatus::Skipped);
    let text = describe(&e, &s.id);
    assert!(text.contains("Stars"), "{text}");
    assert!(text.contains("error: "), "{text}");
}

fn bad_input_is_refused_before_anything_runs(backend: Backend) {
    let e = env_on(backend, 50, 5);
    let run =
        |extra: &[(&str, &str)]| execute(&e.cfg, &e.stores, &request(&e.data, extra)).unwrap_err();
    let err = run(&[("epoch", "3")]);
    assert!(
        matches!(err, PipelineError::UnknownParameter { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("epochs"),
        "the message lists the known ones: {err}"
    );
    let err = run(&[("epochs", "two")]);
    assert!(err.to_string().contains("expected an integer"), "{err}");
    let err = run(&[("auto_approve", "maybe")]);
    assert!(err.to_string().contains("expected true or false"), "{err}");
    let err = run(&[("input_data", "/no/such/file.csv")]);
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = run(&[("architecture", "lstm")]);
    assert!(err.to_string().contains("unknown architecture"), "{err}");
    let err = run(&[("validation_share", "0.6"), ("test_share", "0.5")]);
    assert!(err.to_string().contains("sum to less than 1"), "{err}");
    // Nothing ran, nothing recorded.
    assert!(e.stores.metadata.executions(10).unwrap().is_empty());
    let artifacts = std::fs::read_dir(e.cfg.home.artifacts_dir()).unwrap();
    assert_eq!(artifacts.count(), 0, "no artifacts, no staging");

    let cyclic = r#"
name = "c"
[[steps]]
name = "a"
type = "process"
inputs = { dataset = "steps.b.outputs.dataset" }
[[steps]]
name = "b"
type = "validate"
inputs = { data = "steps.a.outputs.train" }
"#;
    let err = PipelineDef::from_toml_str(cyclic, std::path::Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("cycle: "), "{err}");
    let dangling = cyclic.replace("steps.b.outputs.dataset", "steps.zz.outputs.dataset");
    let err = PipelineDef::from_toml_str(&dangling, std::path::Path::new("d.toml")).unwrap_err();
    assert!(err.to_string().contains("unknown step \"zz\""), "{err}");
    let mut r = RunRequest::new(PipelineDef::default_pipeline());
    r.overrides.push(("min_accuracy".into(), "0.5".into()));
    let err = execute(&e.cfg, &e.stores, &r).unwrap_err();
    assert!(
        err.to_string().contains("input_data"),
        "no data file given: {err}"
    );
}
