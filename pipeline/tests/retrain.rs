//! Retraining from lineage: a registered version's own definition and parameters rerun on
//! its data plus labelled examples from production; the new version goes through the same
//! gate and says why it ran.
mod common;
use common::*;
use pipeline::{execute, retrain_from_lineage, ExecutionStatus, RetrainRequest};

#[test]
fn a_version_is_retrained_from_its_lineage_with_new_labelled_data() {
    let e = env(400, 3);
    let first = execute(&e.cfg, &e.stores, &request(&e.data, &[])).unwrap();
    let v1 = first.registered.expect("v1 registered");

    let examples: Vec<(String, String)> = (0..30)
        .map(|i| {
            let label = ["negative", "neutral", "positive"][i % 3];
            (
                format!("feedback review number {i} about the {label} fit"),
                label.to_string(),
            )
        })
        .chain([(
            "feedback review number 0 about the negative fit".to_string(),
            "positive".to_string(),
        )])
        .collect();
    let req = RetrainRequest {
        version: v1.version.clone(),
        reason: "drift: baseline_drift_check on token_length; window 10:00–11:00".into(),
        data: None,
        examples: examples.clone(),
        overrides: vec![("auto_approve".into(), "true".into())],
    };
    let (run, data) = retrain_from_lineage(&e.cfg, &e.stores, &req).unwrap();
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
    let v2 = run.registered.clone().expect("v2 registered");
    assert_ne!(v2.version, v1.version, "new data, new weights");
    assert_eq!(v2.number, 2);
    assert_eq!(
        v2.status.to_string(),
        "Approved",
        "auto_approve was overridden"
    );

    // The data: the original rows and the examples, each text once (the later label).
    assert_eq!(data.examples, 31);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&data.path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(data.source_rows > 300 && lines.len() + data.duplicates == data.source_rows + 31);
    let fed = lines
        .iter()
        .filter(|l| {
            l["Review Text"]
                .as_str()
                .is_some_and(|t| t.starts_with("feedback review"))
        })
        .count();
    assert_eq!(fed, 30);
    let relabelled = lines
        .iter()
        .find(|l| l["Review Text"] == "feedback review number 0 about the negative fit")
        .unwrap();
    assert_eq!(
        relabelled["Rating"], "5",
        "positive goes back through the mapping"
    );
    assert!(data
        .path
        .starts_with(e.cfg.home.root().join("retrain-data")));

    // Lineage: the same pipeline and parameters but the data, and why it ran.
    let exec = e.stores.metadata.execution(&run.id).unwrap().unwrap();
    assert!(
        exec.trigger.contains("retrain of sentiment/1"),
        "{}",
        exec.trigger
    );
    assert!(exec
        .trigger
        .contains("drift: baseline_drift_check on token_length"));
    assert!(exec.trigger.contains("31 labelled examples"));
    let before = e.stores.metadata.execution(&first.id).unwrap().unwrap();
    let (p1, p2) = (&before.parameters, &exec.parameters);
    for k in ["epochs", "dim", "seed", "label_mapping", "text_columns"] {
        assert_eq!(p1[k], p2[k], "{k}");
    }
    assert_ne!(p1["input_data"], p2["input_data"]);

    // The same retraining again: the same data file, answered from the cache.
    let (again, data2) = retrain_from_lineage(&e.cfg, &e.stores, &req).unwrap();
    assert_eq!(data2.path, data.path);
    assert_eq!(again.registered.map(|v| v.version), Some(v2.version));

    // Bad requests are errors before anything runs.
    let missing = RetrainRequest {
        version: "sentiment/9".into(),
        ..req.clone()
    };
    assert!(retrain_from_lineage(&e.cfg, &e.stores, &missing)
        .unwrap_err()
        .to_string()
        .contains("sentiment/9"));
    let bad_label = RetrainRequest {
        examples: vec![("text".into(), "bogus".into())],
        ..req
    };
    assert!(retrain_from_lineage(&e.cfg, &e.stores, &bad_label)
        .unwrap_err()
        .to_string()
        .contains("bogus"));
}
