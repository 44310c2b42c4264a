//! Past one machine, from the command line: every process reads the stores from
//! SENTIO_DATABASE_URL (a real PostgreSQL) and SENTIO_ARTIFACT_STORE (S3 on moto_server),
//! each with its own SENTIO_HOME as a separate pod would have. A pipeline run as separate
//! `run-step` processes registers the same version as the local executor; the registry,
//! lineage and `sentio serve --model registry:…` work from the shared stores; the exported
//! Argo workflow validates against Argo's own schema.
#[path = "../pipeline/tests/common/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const FAST: &[&str] = &[
    "epochs=2",
    "dim=16",
    "bigram_buckets=5000",
    "vocab_size=2000",
    "max_len=64",
    "device=cpu",
    "min_accuracy=0.0",
    "max_duplicate_share=0.5",
];

/// Shared stores: a fresh database and bucket.
struct Shared {
    env: Vec<(String, String)>,
}

impl Shared {
    fn new() -> Shared {
        let moto = servers::moto();
        let mut env = vec![
            (
                "SENTIO_DATABASE_URL".to_string(),
                servers::postgres().fresh_database(),
            ),
            (
                "SENTIO_ARTIFACT_STORE".to_string(),
                format!("s3://{}/team", moto.fresh_bucket()),
            ),
        ];
        env.extend(moto.options());
        Shared { env }
    }

    /// `sentio ARGS` in its own home (as its own pod) on the shared stores.
    fn sentio(&self, home: &Path, args: &[&str]) -> Output {
        self.command(home, args).output().expect("run sentio")
    }

    fn command(&self, home: &Path, args: &[&str]) -> Command {
        let mut c = local(home, args);
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }
}

fn local(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sentio"));
    c.args(args)
        .env("SENTIO_HOME", home)
        .env("SENTIO_LOG", "warn")
        .env_remove("SENTIO_DATABASE_URL")
        .env_remove("SENTIO_ARTIFACT_STORE");
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}

fn params(data: &Path, extra: &[&str]) -> Vec<String> {
    let mut out = vec!["-p".to_string(), format!("input_data={}", data.display())];
    for p in FAST.iter().chain(extra) {
        out.push("-p".into());
        out.push(p.to_string());
    }
    out
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn steps_as_separate_processes_register_what_the_local_executor_registers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("reviews.csv");
    train::demo::write_csv(&data, 300, 11).unwrap();
    let p = params(&data, &["auto_approve=true"]);

    // The pipeline planned, then each step a separate process with its own home.
    let shared = Shared::new();
    let mut args = vec!["pipeline", "plan", "--id", "wf-1", "--json"];
    args.extend(strs(&p));
    let planned = json(shared.sentio(&d.join("planner"), &args));
    assert_eq!(planned["id"], "wf-1");
    assert_eq!(planned["status"], "Executing");
    // Planning again (a retried task) is a no-op; another plan under the id is refused.
    shared.sentio(&d.join("planner"), &args);
    let mut other = vec!["pipeline", "plan", "--id", "wf-1"];
    let p2 = params(&data, &["epochs=3"]);
    other.extend(strs(&p2));
    assert!(!shared.sentio(&d.join("planner"), &other).status.success());

    let out_dir = |step: &str| d.join("outputs").join(step);
    let run_step = |step: &str| {
        let o = out_dir(step);
        shared.command(
            &d.join(format!("pod-{step}")),
            &[
                "pipeline",
                "run-step",
                "wf-1",
                step,
                "--json",
                "--outputs-dir",
                o.to_str().unwrap(),
            ],
        )
    };
    // A step whose upstream has not run is refused (the engine runs the DAG).
    let early = run_step("train").output().unwrap();
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("upstream step process has not finished")
    );
    for step in ["validate", "process", "train"] {
        ok(run_step(step).output().unwrap());
    }
    // evaluate and baseline at once, as the engine runs independent steps.
    let (a, b) = (
        run_step("evaluate").spawn().unwrap(),
        run_step("baseline").spawn().unwrap(),
    );
    ok(a.wait_with_output().unwrap());
    ok(b.wait_with_output().unwrap());
    let gate = json(run_step("quality_gate").output().unwrap());
    assert_eq!(gate["status"], "Succeeded");
    assert_eq!(gate["outcome"], true);
    assert_eq!(
        std::fs::read_to_string(out_dir("quality_gate").join("outcome")).unwrap(),
        "true"
    );
    let reg = json(run_step("register").output().unwrap());
    assert_eq!(reg["status"], "Succeeded");
    // The branch not taken was recorded by the condition; running it is a no-op.
    let fail = json(run_step("fail").output().unwrap());
    assert_eq!(fail["status"], "Skipped");
    assert_eq!(
        std::fs::read_to_string(out_dir("fail").join("status")).unwrap(),
        "Skipped"
    );
    // A retried step that already succeeded does nothing.
    let again = json(run_step("train").output().unwrap());
    assert_eq!(again["status"], "Succeeded");
    let finished = json(shared.sentio(
        &d.join("finisher"),
        &["pipeline", "finish", "wf-1", "--json"],
    ));
    assert_eq!(finished["status"], "Succeeded", "{finished}");
    let want = finished["registered"]["version"]
        .as_str()
        .unwrap()
        .to_string();

    // The local executor, on another machine with the same stores and parameters, finds
    // every step's result (same cache keys, artifacts downloaded from the object store)
    // and registers the same version. (A version is the digest of the whole package,
    // whose metadata names the executions and timings that made it, so two executions
    // that both train register two versions; one that reuses the other's steps, the same.)
    let mut args = vec!["pipeline", "run", "--json"];
    args.extend(strs(&p));
    let local_run = json(shared.sentio(&d.join("local-executor"), &args));
    assert_eq!(
        local_run["registered"]["version"].as_str().unwrap(),
        want,
        "same version"
    );
    for s in local_run["steps"].as_array().unwrap() {
        let reused = ["validate", "process", "train", "evaluate", "baseline"];
        if reused.contains(&s["name"].as_str().unwrap()) {
            assert_eq!(s["status"], "Cached", "{s}");
            assert!(
                s["decision"].as_str().unwrap().contains("execution wf-1"),
                "{s}"
            );
        }
    }

    // The registry and lineage from yet another machine.
    let other_home = d.join("laptop");
    let list = json(shared.sentio(&other_home, &["registry", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["version"].as_str().unwrap(), want);
    assert_eq!(list[0]["status"], "Approved");
    let lineage = json(shared.sentio(&other_home, &["lineage", "sentiment/1", "--json"]));
    assert_eq!(lineage["execution"]["id"], "wf-1", "{lineage}");
    let described = ok(shared.sentio(&other_home, &["registry", "describe", "sentiment/1"]));
    assert!(described.contains("s3://"), "{described}");
    let executions = json(shared.sentio(&other_home, &["pipeline", "list", "--json"]));
    assert_eq!(executions.as_array().unwrap().len(), 2, "{executions}");

    // An endpoint on a machine that never saw the model: loaded from the registry.
    serve_from_registry(&shared, &d.join("endpoint-pod"), &want);
}

/// `sentio serve --model registry:sentiment` downloads the approved package, answers, and
/// records the deployment in the shared registry's history.
fn serve_from_registry(shared: &Shared, home: &Path, version: &str) {
    for _attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = shared
            .command(
                home,
                &[
                    "serve",
                    "--model",
                    "registry:sentiment",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--device",
                    "cpu",
                    "--endpoint-name",
                    "reviews",
                ],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut ready = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break; // port taken meanwhile, or failed: looked at below
            }
            if http(port, "GET", "/ping", "").is_some_and(|(s, _)| s == 200) {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if !ready {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("binding") {
                continue;
            }
            panic!("the endpoint did not become ready: {err}");
        }
        let (status, body) = http(
            port,
            "POST",
            "/invocations",
            r#"{"instances": ["great fit, love it"]}"#,
        )
        .unwrap();
        // SIGTERM: the endpoint drains and exits cleanly, closing the shared stores'
        // clients (off its async threads).
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(term.is_ok_and(|s| s.success()));
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "exit {:?}: {err}", out.status.code());
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("label"), "{body}");
        let cached = std::fs::read_dir(home.join("artifacts")).unwrap().flatten();
        assert!(
            cached.filter(|e| e.file_name() != ".staging").count() > 0,
            "downloaded into the pod's cache"
        );
        let history = json(shared.sentio(home, &["registry", "history", "--json"]));
        let deployed = history.as_array().unwrap().iter().any(|e| {
            e["event"] == "deployed" && e["endpoint"] == "reviews" && e["version"] == version
        });
        assert!(deployed, "{history}");
        return;
    }
    panic!("no free port for the endpoint");
}

/// A minimal HTTP/1.1 exchange on loopback.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut all = String::new();
    s.read_to_string(&mut all).ok()?;
    let status = all.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        all.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    ))
}

#[test]
fn the_argo_export_validates_against_argo_s_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("workflow.json");
    ok(local(
        dir.path(),
        &[
            "pipeline",
            "export",
            "--format",
            "argo",
            "-p",
            "input_data=/data/reviews.csv",
            "-p",
            "epochs=3",
            "--image",
            "registry.example.com/sentio:1",
            "--data-claim",
            "sentio-data",
            "--retries",
            "3",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap());
    let schema = root().join("deploy/argo/workflow.schema.json");
    check_jsonschema(&schema, &out, true);

    let w: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(w["kind"], "Workflow");
    let spec = &w["spec"];
    assert_eq!(spec["onExit"], "finish");
    let args = spec["arguments"]["parameters"].as_array().unwrap();
    let arg = |n: &str| args.iter().find(|p| p["name"] == n).cloned();
    assert_eq!(arg("input_data").unwrap()["value"], "/data/reviews.csv");
    assert_eq!(arg("epochs").unwrap()["value"], "3");
    assert_eq!(
        arg("split_seed").unwrap()["value"],
        "42",
        "defaults become values"
    );
    assert!(
        arg("learning_rate").is_none(),
        "unset optional parameters stay unset"
    );
    let templates = spec["templates"].as_array().unwrap();
    let template = |n: &str| templates.iter().find(|t| t["name"] == n).unwrap();
    let tasks = template("pipeline")["dag"]["tasks"].as_array().unwrap();
    let task = |n: &str| tasks.iter().find(|t| t["name"] == n).unwrap();
    assert_eq!(tasks.len(), 9, "plan + 8 steps");
    assert_eq!(task("validate")["depends"], "plan");
    assert_eq!(
        task("register")["depends"],
        "plan && validate && train && evaluate && baseline && quality-gate",
        "its inputs' producers and its condition"
    );
    assert_eq!(
        task("register")["when"],
        "{{tasks.quality-gate.outputs.parameters.outcome}} == true"
    );
    assert_eq!(
        task("fail")["when"],
        "{{tasks.quality-gate.outputs.parameters.outcome}} == false"
    );
    assert_eq!(task("fail")["template"], "run-step-once");
    assert_eq!(
        task("quality-gate")["arguments"]["parameters"][0]["value"],
        "quality_gate"
    );
    assert_eq!(template("run-step")["retryStrategy"]["limit"], "3");
    assert!(template("run-step-once")["retryStrategy"].is_null());
    // The tasks' command lines are the CLI's.
    let run_args: Vec<String> =
        serde_json::from_value(template("run-step")["container"]["args"].clone()).unwrap();
    assert_eq!(&run_args[..2], ["pipeline", "run-step"]);
    let plan_args: Vec<String> =
        serde_json::from_value(template("plan")["container"]["args"].clone()).unwrap();
    let def_path = template("plan")["inputs"]["artifacts"][0]["path"]
        .as_str()
        .unwrap();
    assert!(template("plan")["inputs"]["artifacts"][0]["raw"]["data"]
        .as_str()
        .unwrap()
        .contains("[[steps]]"));
    for (argv, name) in [(plan_args, "plan"), (run_args, "run-step")] {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| {
                a.replace("{{workflow.name}}", "wf")
                    .replace("{{inputs.parameters.step}}", "train")
                    .replace(def_path, "/nonexistent.toml")
            })
            .collect();
        let mut with_help = argv.clone();
        with_help.push("--help".into());
        let o = local(dir.path(), &strs(&with_help)).output().unwrap();
        assert!(
            o.status.success(),
            "{name}: {argv:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // The schema is really applied: a malformed workflow fails it.
    let mut broken = w.clone();
    broken["spec"]["templates"] = serde_json::json!("not a list");
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    check_jsonschema(&schema, &bad, false);
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_jsonschema(schema: &Path, doc: &Path, valid: bool) {
    let venv = std::env::var_os("SENTIO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let bin = venv.join("bin/check-jsonschema");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/setup.sh",
        bin.display()
    );
    let out = Command::new(bin)
        .arg("--schemafile")
        .arg(schema)
        .arg(doc)
        .output()
        .unwrap();
    assert_eq!(
        out.status.success(),
        valid,
        "check-jsonschema {}:\n{}{}",
        doc.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
