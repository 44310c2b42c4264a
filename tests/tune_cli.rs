//! `sentio tune` end to end through the binary on the built-in demo data: a search writes
//! its job file and the best trial's model, `tune describe` prints the leaderboard, a warm
//! start reuses the earlier trials, the same seed draws the same trials, and bad input
//! fails with a clear message.
use std::path::Path;
use std::process::{Command, Output};
use train::tune::{TrialStatus, TuneJobFile};

fn sentio(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentio"))
        .args(args)
        .current_dir(cwd)
        .env("SENTIO_LOG", "warn")
        .output()
        .expect("run sentio")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const SPACE: &str = r#"
[params.learning_rate]
kind = "log_uniform"
low = 0.002
high = 0.02
[params.dim]
kind = "int"
low = 8
high = 16
[params.epochs]
kind = "categorical"
values = [3]
[params.bigram_buckets]
kind = "categorical"
values = [1000]
"#;

const SEARCH: &[&str] = &[
    "tune",
    "--data",
    "reviews.csv",
    "--space",
    "space.toml",
    "--strategy",
    "asha",
    "--trials",
    "4",
    "--folds",
    "2",
    "--seed",
    "7",
];

#[test]
fn tune_searches_describes_and_warm_starts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train::demo::write_csv(&d.join("reviews.csv"), 300, 5).unwrap();
    std::fs::write(d.join("space.toml"), SPACE).unwrap();

    let out = ok(&sentio(&[SEARCH, &["--out", "one", "--json"]].concat(), d));
    let job: TuneJobFile = serde_json::from_str(&out).unwrap();
    assert_eq!(job, TuneJobFile::read(&d.join("one/job.json")).unwrap());
    assert_eq!(job.trials.len(), 4);
    assert_eq!(job.folds, 2);
    assert_eq!(job.rungs, vec![1]);
    let best = job.best_trial().expect("a best trial");
    assert_eq!(best.status, TrialStatus::Completed);
    for t in &job.trials {
        match t.status {
            TrialStatus::Completed => {
                assert_eq!(t.folds.len(), 2);
                assert_eq!(t.score.unwrap().n, 2);
                assert!(t
                    .folds
                    .iter()
                    .all(|f| f.contains_key("macro_f1") && f.contains_key("loss")));
                assert_eq!(t.history.len(), 3);
            }
            TrialStatus::Stopped => {
                assert_eq!(t.stopped_by.as_deref(), Some("asha rung 1"));
                assert_eq!(t.history.len(), 1);
            }
            TrialStatus::Failed => panic!("{t:?}"),
        }
    }
    let model = job.best_model.clone().expect("best model written");
    assert!(d.join(&model).join("manifest.json").is_file(), "{model:?}");

    let table = ok(&sentio(&["tune", "describe", "one"], d));
    assert!(
        table.contains("rank status") && table.contains("  1* completed"),
        "{table}"
    );
    assert!(table.contains("best model:"), "{table}");

    // The same seed draws the same trials.
    let again: TuneJobFile = serde_json::from_str(&ok(&sentio(
        &[SEARCH, &["--out", "two", "--json", "--no-model"]].concat(),
        d,
    )))
    .unwrap();
    let params = |j: &TuneJobFile| {
        j.trials
            .iter()
            .map(|t| t.params.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(params(&again), params(&job));
    assert!(again.best_model.is_none());

    // A warm start learns from the earlier trials without running them again.
    let args = [
        "tune",
        "--data",
        "reviews.csv",
        "--space",
        "space.toml",
        "--strategy",
        "tpe",
        "--trials",
        "1",
        "--folds",
        "2",
        "--seed",
        "7",
        "--warm-start",
        "one/job.json",
        "--out",
        "three",
        "--no-model",
        "--json",
    ];
    let warm: TuneJobFile = serde_json::from_str(&ok(&sentio(&args, d))).unwrap();
    assert_eq!(warm.trials.len(), 5);
    for (old, new) in job.trials.iter().zip(&warm.trials) {
        assert_eq!(new.params, old.params);
        assert_eq!(new.history, old.history);
        assert_eq!(new.warm_from, Some(format!("one/job.json#{}", old.id)));
    }
    assert!(job.trials.iter().all(|t| t.params != warm.trials[4].params));
    assert!(warm.trials[4].warm_from.is_none());

    // An earlier job is not overwritten by accident.
    fails_with(
        &sentio(&[SEARCH, &["--out", "one"]].concat(), d),
        "one/job.json exists; pass --force",
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train::demo::write_csv(&d.join("reviews.csv"), 60, 5).unwrap();
    let cases = [
        (
            "[params.dim]\nkind = \"int\"\nlow = 9\nhigh = 8\n",
            "dim: empty range",
        ),
        (
            "[params.dropout]\nkind = \"beta\"\n",
            "dropout: unknown kind \"beta\"",
        ),
        (
            "[params.layers]\nkind = \"int\"\nlow = 1\nhigh = 2\n",
            "unknown hyperparameter \"layers\"",
        ),
        (
            "[params.learning_rate]\nkind = \"log_uniform\"\nlow = -1\nhigh = 1\n",
            "log_uniform needs low > 0",
        ),
        ("[params.dim\n", "TOML parse error"),
    ];
    for (text, needle) in cases {
        std::fs::write(d.join("space.toml"), text).unwrap();
        let out = sentio(
            &["tune", "--data", "reviews.csv", "--space", "space.toml"],
            d,
        );
        fails_with(&out, needle);
        fails_with(&out, "search space space.toml");
    }
    std::fs::write(d.join("space.toml"), SPACE).unwrap();
    let run = |extra: &[&str]| {
        sentio(
            &[
                &["tune", "--data", "reviews.csv", "--space", "space.toml"],
                extra,
            ]
            .concat(),
            d,
        )
    };
    fails_with(
        &run(&["--objective", "auc"]),
        "unknown objective metric \"auc\"",
    );
    fails_with(&run(&["--folds", "1"]), "k-fold needs k >= 2");
    fails_with(
        &run(&["--trials", "0"]),
        "the trial budget must be at least 1",
    );
    fails_with(&run(&["--warm-start", "nothing.json"]), "nothing.json");
    fails_with(
        &run(&["--repeats", "2", "--holdout", "1.5"]),
        "a held-out share in (0, 1)",
    );
    // Repeated splits instead of folds.
    let out = ok(&run(&[
        "--repeats",
        "2",
        "--trials",
        "1",
        "--no-model",
        "--json",
        "--out",
        "rep",
    ]));
    let job: TuneJobFile = serde_json::from_str(&out).unwrap();
    assert_eq!(job.folds, 2);
    assert_eq!(job.trials[0].folds.len(), 2);
    fails_with(
        &sentio(
            &["tune", "--data", "absent.csv", "--space", "space.toml"],
            d,
        ),
        "absent.csv",
    );
    let out = sentio(&["tune", "--space", "space.toml"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "clap's usage error: {stderr}");
    assert!(stderr.contains("--data <DATA>"), "{stderr}");
    let out = sentio(&["tune"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--space <SPACE>"), "{stderr}");
    fails_with(&sentio(&["tune", "describe", "nothing"], d), "nothing");
    assert!(!d.join("tune-out").exists() && d.join("rep/job.json").is_file());
}

#[test]
fn evaluate_cross_validates_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train::demo::write_csv(&d.join("reviews.csv"), 300, 5).unwrap();
    let args = [
        "evaluate",
        "--cv",
        "3",
        "--data",
        "reviews.csv",
        "--epochs",
        "2",
        "--dim",
        "8",
        "--bigram-buckets",
        "1000",
        "--device",
        "cpu",
        "--out",
        "cv.json",
    ];
    let table = ok(&sentio(&args, d));
    assert!(
        table.contains("3-fold cross-validation on 300 rows"),
        "{table}"
    );
    assert!(
        table.contains("balanced_accuracy") && table.contains(" ± "),
        "{table}"
    );
    let cv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("cv.json")).unwrap()).unwrap();
    assert_eq!(cv["folds"].as_array().unwrap().len(), 3);
    assert_eq!(cv["metrics"]["balanced_accuracy"]["n"], 3);
    fails_with(
        &sentio(&["evaluate", "--cv", "1", "--data", "reviews.csv"], d),
        "k-fold needs k >= 2",
    );
    fails_with(
        &sentio(
            &["evaluate", "--cv", "2", "--data", "reviews.csv", "--lr=-1"],
            d,
        ),
        "learning rate must be positive",
    );
    let out = sentio(&["evaluate", "--data", "reviews.csv"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model <MODEL>"));
}
