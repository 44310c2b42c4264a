use super::*;

const GOOD: &str = r#"
architecture = "fasttext"
[objective]
metric = "macro_f1"
[asha]
eta = 2
[params.learning_rate]
kind = "log_uniform"
low = 0.001
high = 0.03
[params.dropout]
kind = "uniform"
low = 0
high = 0.5
[params.dim]
kind = "int"
low = 32
high = 128
[params.balance]
kind = "categorical"
values = ["class_weights", "downsample"]
[params.calibrate]
kind = "categorical"
values = [true, false]
"#;

#[test]
fn a_good_space_parses() {
    let s = SearchSpace::parse(GOOD).unwrap();
    assert_eq!(s.architecture, Architecture::FastText);
    assert_eq!(s.params.len(), 5);
    assert_eq!(
        s.params["learning_rate"],
        Distribution::LogUniform {
            low: 0.001,
            high: 0.03
        }
    );
    assert_eq!(
        s.params["dropout"],
        Distribution::Uniform {
            low: 0.0,
            high: 0.5
        }
    );
    assert_eq!(
        s.params["dim"],
        Distribution::Int {
            low: 32,
            high: 128,
            log: false
        }
    );
    assert_eq!(
        s.params["calibrate"],
        Distribution::Categorical {
            values: vec![ParamValue::Bool(true), ParamValue::Bool(false)]
        }
    );
    let o = s.objective.unwrap();
    assert_eq!(o.metric.name(), "macro_f1");
    assert_eq!(o.goal, super::super::objective::Goal::Maximize);
    assert_eq!(
        s.asha,
        AshaConfig {
            min_epochs: 1,
            eta: 2
        }
    );
    let loss = SearchSpace::parse(
        "[objective]\nmetric = \"loss\"\n[params.epochs]\nkind = \"int\"\nlow = 1\nhigh = 3\n",
    )
    .unwrap();
    assert_eq!(
        loss.objective.unwrap().goal,
        super::super::objective::Goal::Minimize
    );
}

fn err(text: &str) -> String {
    SearchSpace::parse(text).unwrap_err()
}

#[test]
fn each_mistake_has_a_clear_error() {
    let p = |name: &str, body: &str| format!("[params.{name}]\n{body}\n");
    let cases: Vec<(String, &str)> = vec![
        (p("dropout", "kind = \"uniform\"\nlow = 0.3\nhigh = 0.3"), "dropout: empty range, low (0.3) must be below high (0.3)"),
        (p("dropout", "kind = \"uniform\"\nlow = 0.4\nhigh = 0.2"), "low (0.4) must be below high (0.2)"),
        (p("dim", "kind = \"int\"\nlow = 9\nhigh = 8"), "dim: empty range, low (9) is above high (8)"),
        (p("learning_rate", "kind = \"log_uniform\"\nlow = 0\nhigh = 0.1"), "learning_rate: log_uniform needs low > 0, got 0"),
        (p("dim", "kind = \"int\"\nlow = 0\nhigh = 8\nlog = true"), "dim: log = true needs low > 0"),
        (p("dropout", "kind = \"normal\"\nlow = 0\nhigh = 1"), "dropout: unknown kind \"normal\" (expected uniform, log_uniform, int or categorical)"),
        (p("hidden_layers", "kind = \"int\"\nlow = 1\nhigh = 3"), "unknown hyperparameter \"hidden_layers\" for architecture fasttext (known: epochs, learning_rate"),
        (format!("architecture = \"transformer\"\n{}", p("dim", "kind = \"int\"\nlow = 8\nhigh = 16")), "unknown hyperparameter \"dim\" for architecture transformer"),
        (p("dim", "kind = \"uniform\"\nlow = 8\nhigh = 16"), "dim is an integer: use kind = \"int\" or \"categorical\""),
        (p("dropout", "kind = \"int\"\nlow = 0\nhigh = 1"), "dropout is a real number: use kind = \"uniform\" or \"log_uniform\""),
        (p("balance", "kind = \"categorical\"\nvalues = [\"smote\"]"), "balance: value \"smote\" is not one of"),
        (p("balance", "kind = \"categorical\"\nvalues = []"), "balance: values is empty"),
        (p("dim", "kind = \"categorical\"\nvalues = [8, 8]"), "dim: value 8 is listed twice"),
        (p("dropout", "kind = \"uniform\"\nlow = 0\nhigh = 1.5"), "dropout = "),
        (p("dropout", "kind = \"uniform\"\nhigh = 0.5"), "dropout: low is missing"),
        (p("dropout", "kind = \"uniform\"\nlow = \"a\"\nhigh = 0.5"), "dropout: low must be a number"),
        (p("dropout", "kind = \"uniform\"\nlow = 0\nhigh = 0.5\nvalues = [1]"), "takes no values"),
        (p("epochs", "kind = \"int\"\nlow = 0\nhigh = 3"), "epochs = 0: invalid configuration: epochs must be at least 1"),
        (p("dim", "kind = \"int\"\nlow = 0\nhigh = 3"), "dim = 0: must be at least 1"),
        (p("dim", "kind = \"int\"\nlow = 1\nhigh = 3\nstep = 2"), "unknown field `step`"),
        ("architecture = \"lstm\"\n[params.dim]\nkind = \"int\"\nlow = 1\nhigh = 3".into(), "unknown architecture \"lstm\""),
        ("architecture = \"bert\"\n[params.dropout]\nkind = \"uniform\"\nlow = 0\nhigh = 0.3".into(), "architecture \"bert\" needs checkpoint"),
        ("architecture = \"fasttext\"\n".into(), "no hyperparameters to search"),
        ("[objective]\nmetric = \"auc\"\n[params.dim]\nkind = \"int\"\nlow = 1\nhigh = 3".into(), "unknown objective metric \"auc\""),
        ("[objective]\nmetric = \"loss\"\ngoal = \"up\"\n[params.dim]\nkind = \"int\"\nlow = 1\nhigh = 3".into(), "unknown goal \"up\""),
        ("[asha]\neta = 1\n[params.dim]\nkind = \"int\"\nlow = 1\nhigh = 3".into(), "eta >= 2"),
        ("[params.dim\n".into(), "TOML parse error"),
    ];
    for (text, needle) in cases {
        let e = err(&text);
        assert!(
            e.contains(needle),
            "expected {needle:?} in {e:?} for\n{text}"
        );
    }
}

#[test]
fn from_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("space.toml");
    std::fs::write(&path, "[params.dim]\nkind = \"int\"\nlow = 3\nhigh = 1\n").unwrap();
    let e = SearchSpace::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("space.toml") && e.contains("empty range"), "{e}");
    let e = SearchSpace::from_file(&dir.path().join("none.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.toml"), "{e}");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(
        SearchSpace::from_file(&path).unwrap(),
        SearchSpace::parse(GOOD).unwrap()
    );
}

#[test]
fn the_example_space_parses() {
    let s = SearchSpace::parse(include_str!("../../../examples/tune-space.toml")).unwrap();
    assert_eq!(s.params.len(), 5);
    assert_eq!(
        s.asha,
        AshaConfig {
            min_epochs: 1,
            eta: 3
        }
    );
}

#[test]
fn a_json_space_is_read_like_the_file() {
    let v = serde_json::json!({
        "params": {
            "learning_rate": {"kind": "log_uniform", "low": 0.001, "high": 0.03},
            "dim": {"kind": "int", "low": 8, "high": 16},
            "balance": {"kind": "categorical", "values": ["none", "downsample"]}
        }
    });
    let s = SearchSpace::from_json(v).unwrap();
    assert_eq!(
        s.params["dim"],
        Distribution::Int {
            low: 8,
            high: 16,
            log: false
        }
    );
    let e = SearchSpace::from_json(
        serde_json::json!({"params": {"dim": {"kind": "int", "low": 3, "high": 1}}}),
    )
    .unwrap_err();
    assert!(e.contains("dim: empty range"), "{e}");
}
