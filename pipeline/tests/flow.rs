//! The default pipeline end to end: order and concurrency, registration, lineage, the
//! approval/deployment gate, and caching with explained misses.
#[macro_use]
mod common;
use common::*;
use pipeline::{execute, ApprovalStatus, ExecutionStatus, PipelineError, StepStatus};

on_both_backends!(default_pipeline_registers_caches_and_explains);

fn default_pipeline_registers_caches_and_explains(backend: Backend) {
    let e = env_on(backend, 400, 1);
    let run1 = execute(&e.cfg, &e.stores, &request(&e.data, &[])).unwrap();
    assert_eq!(run1.status, ExecutionStatus::Succeeded, "{run1:?}");
    for s in &run1.steps {
        let want = if s.name == "fail" {
            StepStatus::Skipped
        } else {
            StepStatus::Succeeded
        };
        assert_eq!(s.status, want, "{s:?}");
    }
    let v = run1.registered.clone().expect("a registered version");
    assert_eq!(v.status, ApprovalStatus::PendingManualApproval);
    assert_eq!(v.number, 1);

    // Dependency order, and evaluate ∥ baseline overlapping.
    let store = &*e.stores.metadata;
    let rows = store.steps(&run1.id).unwrap();
    let row = |n: &str| rows.iter().find(|r| r.step == n).unwrap();
    for (before, after) in [
        ("validate", "process"),
        ("process", "train"),
        ("train", "evaluate"),
        ("train", "baseline"),
        ("evaluate", "quality_gate"),
        ("quality_gate", "register"),
        ("baseline", "register"),
    ] {
        assert!(
            row(before).ended_at.clone().unwrap() <= row(after).started_at,
            "{before} before {after}"
        );
    }
    let (ev, bl) = (row("evaluate"), row("baseline"));
    assert!(
        ev.started_at < bl.ended_at.clone().unwrap()
            && bl.started_at < ev.ended_at.clone().unwrap(),
        "evaluate and baseline ran at once"
    );

    // The package has the serving layout, with the baseline and test evaluation.
    let reg = e.stores.registry();
    let err = reg
        .resolve_for_deployment("sentiment", Some(&v.version), false)
        .unwrap_err();
    assert!(matches!(err, PipelineError::NotApproved { .. }), "{err}");
    let (dir, id) = reg
        .resolve_for_deployment("sentiment", Some(&v.version), true)
        .unwrap();
    assert_eq!(id, v.version);
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "evaluation.json",
        "evaluation.html",
        "metadata.json",
        "baseline/statistics.json",
        "baseline/constraints.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let art = models::Artifact::open(&dir).unwrap();
    assert_eq!(art.version(), v.version);
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(eval["split"], "test");
    // The page of the same test evaluation travels with it (not training's validation one).
    let page = std::fs::read_to_string(dir.join("evaluation.html")).unwrap();
    assert!(page.contains("the test split") && page.contains("id=\"confusion-matrix\""));
    assert!(art.manifest.files.contains_key("evaluation.html"));

    // Lineage complete.
    let (_, l) = pipeline::lineage::lineage(store, "sentiment/1").unwrap();
    assert_eq!(l["execution"]["id"], run1.id.as_str());
    assert_eq!(l["data"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(l["data"]["rows"]["rows_read"], 400);
    assert!(l["data"]["split"]["train"]["rows"].as_u64().unwrap() > 0);
    assert_eq!(l["code_version"]["git_commit"], "aaaaaaa");
    assert_eq!(l["hyperparameters"]["epochs"], 2);
    assert_eq!(l["hyperparameters"]["dim"], 16);
    assert_eq!(l["versions"]["tch"], models::TCH_VERSION);
    assert_eq!(l["versions"]["libtorch"], models::LIBTORCH_VERSION);
    assert_eq!(l["device"], "cpu");
    assert_eq!(l["tokenizer_digest"].as_str().unwrap().len(), 64);
    assert_eq!(l["execution"]["parameters"]["epochs"], 2);
    let model = &l["parents"]["model"];
    assert_eq!(model["step"], "train");
    assert_eq!(
        model["parents"]["train"]["parents"]["dataset"]["parents"]["data"]["kind"],
        "file"
    );
    let text = pipeline::lineage::render(&v, &l);
    assert!(
        text.contains("libtorch") && text.contains("model: "),
        "{text}"
    );
    let manifest = e.cfg.home.manifests_dir().join(format!("{}.json", run1.id));
    assert!(manifest.is_file());

    // Approval transitions and the history.
    let before = pipeline::store::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let rejected = reg
        .reject("sentiment/1", "ann", "too small a data set")
        .unwrap();
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    let err = reg.approve("sentiment/1", "ann", "ok").unwrap_err();
    assert!(
        matches!(err, PipelineError::IllegalTransition { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("rejected"), "{err}");
    let st = reg.state_at(Some("sentiment"), Some(&before)).unwrap();
    assert_eq!(
        st.statuses[&v.version],
        ApprovalStatus::PendingManualApproval
    );
    assert!(st.latest_approved.is_none());

    // Second identical run: cached up to the gate, the same version found again.
    let run2 = execute(
        &e.cfg,
        &e.stores,
        &request(&e.data, &[("auto_approve", "true")]),
    )
    .unwrap();
    for n in ["validate", "process", "train", "evaluate", "baseline"] {
        let s = step(&run2, n);
        assert_eq!(s.status, StepStatus::Cached, "{s:?}");
        assert!(s.decision.as_deref().unwrap().starts_with("hit:"), "{s:?}");
    }
    assert_eq!(run2.registered.as_ref().unwrap().version, v.version);
    assert_eq!(reg.list(Some("sentiment")).unwrap().len(), 1);

    // Changed parameter: only train and below rerun, and the reason names it.
    let run3 = execute(
        &e.cfg,
        &e.stores,
        &request(&e.data, &[("epochs", "3"), ("auto_approve", "true")]),
    )
    .unwrap();
    assert_eq!(step(&run3, "process").status, StepStatus::Cached);
    let t = step(&run3, "train");
    assert_eq!(t.status, StepStatus::Succeeded);
    assert!(
        t.decision
            .as_deref()
            .unwrap()
            .contains("parameter epochs changed: 2 → 3"),
        "{t:?}"
    );
    let ev = step(&run3, "evaluate");
    assert!(
        ev.decision
            .as_deref()
            .unwrap()
            .contains("input model changed"),
        "{ev:?}"
    );
    let v3 = run3.registered.clone().unwrap();
    assert_eq!(v3.status, ApprovalStatus::Approved);
    assert_eq!(v3.number, 2);
    let text = describe(&e, &run3.id);
    assert!(text.contains("parameter epochs changed: 2 → 3"), "{text}");
    assert!(
        text.contains("hit: same type, config, inputs and code version"),
        "{text}"
    );

    // Approved → deployable; deployment history answers "what was deployed when".
    let (_, id) = reg
        .resolve_for_deployment("sentiment", None, false)
        .unwrap();
    assert_eq!(id, v3.version);
    reg.record_deployment("reviews", "A", &v3.version, false)
        .unwrap();
    let st = reg.state_at(Some("sentiment"), None).unwrap();
    assert_eq!(st.deployments["reviews/A"].version, v3.version);
    assert_eq!(st.latest_approved.as_deref(), Some(v3.version.as_str()));
    assert!(
        reg.approve(&v3.version, "ann", "again").is_err(),
        "already approved"
    );

    // Changed code version: everything misses, saying so.
    let mut cfg = e.cfg.clone();
    cfg.code_version.git_commit = Some("bbbbbbb".into());
    let run4 = execute(&cfg, &e.stores, &request(&e.data, &[])).unwrap();
    let d = step(&run4, "validate").decision.clone().unwrap();
    assert!(
        d.contains("code version changed: 0.1.0+aaaaaaa → 0.1.0+bbbbbbb"),
        "{d}"
    );

    // Changed data: validate misses on its input.
    train::demo::write_csv(&e.data, 400, 2).unwrap();
    let run5 = execute(&cfg, &e.stores, &request(&e.data, &[])).unwrap();
    let d = step(&run5, "validate").decision.clone().unwrap();
    assert!(d.contains("input data changed"), "{d}");
    assert_eq!(run5.status, ExecutionStatus::Succeeded);

    // --no-cache says so.
    let mut nc = cfg.clone();
    nc.cache.enabled = false;
    let run6 = execute(&nc, &e.stores, &request(&e.data, &[])).unwrap();
    assert!(step(&run6, "validate")
        .decision
        .as_deref()
        .unwrap()
        .contains("--no-cache"));
    assert!(run2.wall_s < run1.wall_s);
}
