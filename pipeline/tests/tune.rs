//! A tune step inside a pipeline: every trial is recorded with the step, and the best
//! trial's model flows on to evaluate → gate → register, whose lineage names the tuning.
mod common;
use common::*;
use pipeline::{execute, ExecutionStatus, PipelineDef, RunRequest, StepStatus};

const TUNED: &str = r#"
name = "tuned"
[parameters.input_data]
type = "string"

[[steps]]
name = "validate"
type = "validate"
inputs = { data = "params.input_data" }
config = { max_duplicate_share = 0.5 }

[[steps]]
name = "process"
type = "process"
inputs = { dataset = "steps.validate.outputs.dataset" }

[[steps]]
name = "tune"
type = "tune"
inputs = { train = "steps.process.outputs.train", validation = "steps.process.outputs.validation" }
[steps.config]
strategy = "asha"
trials = 4
folds = 2
seed = 3
device = "cpu"
[steps.config.space.params.learning_rate]
kind = "log_uniform"
low = 0.002
high = 0.02
[steps.config.space.params.dim]
kind = "int"
low = 8
high = 16
[steps.config.space.params.epochs]
kind = "categorical"
values = [3]
[steps.config.space.params.bigram_buckets]
kind = "categorical"
values = [1000]

[[steps]]
name = "evaluate"
type = "evaluate"
inputs = { model = "steps.tune.outputs.model", test = "steps.process.outputs.test" }

[[steps]]
name = "quality_gate"
type = "condition"
inputs = { evaluation = "steps.evaluate.outputs.evaluation" }
config = { file = "evaluation.json", path = "metrics.balanced_accuracy.value", op = ">=", right = 0.0, if_true = ["register"], if_false = ["fail"] }

[[steps]]
name = "register"
type = "register"
inputs = { model = "steps.tune.outputs.model", evaluation = "steps.evaluate.outputs.evaluation" }
config = { model_package_group = "tuned", auto_approve = true }

[[steps]]
name = "fail"
type = "fail"
"#;

#[test]
fn a_tune_step_registers_the_best_trial_with_its_lineage() {
    let e = env(300, 4);
    let def = PipelineDef::from_toml_str(TUNED, std::path::Path::new("tuned.toml")).unwrap();
    let mut r = RunRequest::new(def);
    r.overrides
        .push(("input_data".into(), e.data.display().to_string()));
    let run = execute(&e.cfg, &e.stores, &r).unwrap();
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
    assert_eq!(step(&run, "tune").status, StepStatus::Succeeded);
    assert_eq!(step(&run, "register").status, StepStatus::Succeeded);

    // Every trial is recorded with the step in the metadata store.
    let rows = e.stores.metadata.steps(&run.id).unwrap();
    let tune = rows.iter().find(|r| r.step == "tune").unwrap();
    let board = tune.properties["leaderboard"].as_array().unwrap();
    assert_eq!(board.len(), 4);
    let best = tune.properties["tuning"]["best_trial"].clone();
    assert_eq!(board[0]["id"], best);
    assert_eq!(board[0]["status"], "completed");
    assert!(board[0]["score"]["mean"].as_f64().is_some());
    for t in board {
        assert!(
            ["completed", "stopped"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
    }
    assert!(tune.outputs.contains_key("trials") && tune.outputs.contains_key("model"));

    // The registered version is the tuned model, and its lineage names the tuning.
    let v = run.registered.clone().expect("registered");
    let (_, lineage) = pipeline::lineage::lineage(&*e.stores.metadata, &v.version).unwrap();
    assert_eq!(lineage["tuning"]["best_trial"], best);
    assert_eq!(lineage["tuning"]["trials"], 4);
    assert_eq!(lineage["tuning"]["execution"], run.id.as_str());
    assert_eq!(
        lineage["tuning"]["best_params"], board[0]["params"],
        "{lineage}"
    );

    // describe shows the leaderboard.
    let text = describe(&e, &run.id);
    assert!(text.contains("trials (best first):"), "{text}");
    assert!(text.contains(&format!("#{best:<3} completed")), "{text}");
}

#[test]
fn a_bad_tune_step_is_refused_before_anything_runs() {
    let e = env(40, 4);
    for (from, to, needle) in [
        (
            "kind = \"int\"\nlow = 8",
            "kind = \"int\"\nlow = 80",
            "space: dim: empty range",
        ),
        (
            "strategy = \"asha\"",
            "strategy = \"grid\"",
            "unknown variant `grid`",
        ),
        (
            "trials = 4",
            "trials = 0",
            "trials and parallel must be at least 1",
        ),
        (
            "[steps.config.space.params.dim]",
            "[steps.config.space.params.depth]",
            "unknown hyperparameter \"depth\"",
        ),
    ] {
        let text = TUNED.replacen(from, to, 1);
        assert_ne!(text, TUNED);
        let err = PipelineDef::from_toml_str(&text, std::path::Path::new("t.toml"))
            .and_then(|def| {
                let mut r = RunRequest::new(def);
                r.overrides
                    .push(("input_data".into(), e.data.display().to_string()));
                execute(&e.cfg, &e.stores, &r).map(|_| ())
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "expected {needle:?} in {err}");
    }
    assert!(e.stores.metadata.executions(10).unwrap().is_empty());
}
