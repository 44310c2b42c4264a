//! `sentio init`: every template's CI files pass GitHub's and GitLab's schemas
//! (check-jsonschema, installed by scripts/setup.sh), the generated Makefile targets run for
//! real — pipeline on the sample data → registered version → approve → staging endpoint on
//! 127.0.0.1 → smoke test → load test → production canary → experiment → promote, with the
//! rollbacks — the Dockerfile agrees with `sentio serve`'s flags, `--check` reports what a
//! newer sentio would change, and bad input is refused with a clear message.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

const SENTIO: &str = env!("CARGO_BIN_EXE_sentio");
const TOKEN: &str = "init-test-token";

/// A command with a clean environment: no SENTIO_* or make settings of whoever runs the
/// tests (a `make test` above us would hand its jobserver down).
fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("SENTIO_") || k.starts_with("MAKE") || k == "MFLAGS" {
            c.env_remove(&k);
        }
    }
    c.env("SENTIO_LOG", "warn");
    c
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sentio(args: &[&str], cwd: &Path) -> Output {
    command(SENTIO)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run sentio")
}

fn init(template: &str, name: &str, dir: &Path) {
    let out = sentio(
        &[
            "init",
            "--template",
            template,
            "--name",
            name,
            dir.to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// `make ARGS` in a project with the built sentio; the output on success, a panic with it
/// otherwise.
fn make(dir: &Path, args: &[&str]) -> String {
    let out = make_output(dir, args);
    assert!(
        out.status.success(),
        "make {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

fn make_output(dir: &Path, args: &[&str]) -> Output {
    let started = std::time::Instant::now();
    let out = command("make")
        .arg("--no-print-directory")
        .arg(format!("SENTIO={SENTIO}"))
        .args(args)
        .current_dir(dir)
        .env("SENTIO_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("run make (GNU make is needed by the generated projects)");
    eprintln!(
        "make {args:?}: {:?} in {:.1?}",
        out.status.code(),
        started.elapsed()
    );
    out
}

fn check_jsonschema() -> PathBuf {
    let venv = std::env::var("SENTIO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let bin = venv.join("bin/check-jsonschema");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/setup.sh (it installs check-jsonschema)",
        bin.display()
    );
    bin
}

fn files_under(dir: &Path, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().display().to_string())
                .filter(|p| p.ends_with(ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn schema_check(schema: &str, files: &[String]) -> Output {
    Command::new(check_jsonschema())
        .args(["--builtin-schema", schema])
        .args(files)
        .output()
        .expect("run check-jsonschema")
}

#[test]
fn every_template_writes_ci_files_that_pass_the_github_and_gitlab_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let expected: [(&str, &[&str]); 3] = [
        ("build-train", &["build-train.yml"]),
        ("deploy", &["deploy.yml"]),
        (
            "build-train-deploy",
            &["build-train.yml", "deploy.yml", "release.yml"],
        ),
    ];
    for (template, workflows) in expected {
        let dir = tmp.path().join(template);
        init(template, "reviews", &dir);
        let github = files_under(&dir.join(".github/workflows"), ".yml");
        let names: Vec<_> = github
            .iter()
            .map(|p| p.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, workflows, "{template}");
        let out = schema_check("vendor.github-workflows", &github);
        assert!(out.status.success(), "{template}: {}", text(&out));
        let mut gitlab = vec![dir.join(".gitlab-ci.yml").display().to_string()];
        gitlab.extend(files_under(&dir.join(".gitlab/ci"), ".yml"));
        assert!(gitlab.len() >= 3, "{gitlab:?}");
        let out = schema_check("vendor.gitlab-ci", &gitlab);
        assert!(out.status.success(), "{template}: {}", text(&out));
        // Every file the root .gitlab-ci.yml includes is there.
        let root = std::fs::read_to_string(&gitlab[0]).unwrap();
        for line in root
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- local: "))
        {
            assert!(dir.join(line).is_file(), "{template}: {line} is included");
        }
    }
    // The checker does check: a workflow with a misspelt trigger and no runner fails.
    let bad = tmp.path().join("bad.yml");
    std::fs::write(&bad, "on: {pusj: {}}\njobs:\n  a:\n    steps: [{run: x}]\n").unwrap();
    let out = schema_check("vendor.github-workflows", &[bad.display().to_string()]);
    assert!(!out.status.success(), "{}", text(&out));
}

/// `--help` of `sentio serve`: the environment variables it reads, and the text.
fn serve_help() -> (Vec<String>, String) {
    let out = sentio(&["serve", "--help"], Path::new("."));
    assert!(out.status.success(), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let envs = help
        .split("[env: ")
        .skip(1)
        .map(|s| s.split(['=', ']']).next().unwrap().to_string())
        .collect();
    (envs, help)
}

/// Dockerfile instructions, continuation lines joined: (instruction, arguments).
fn dockerfile(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if current.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(t);
                let (op, args) = current.split_once(' ').unwrap();
                out.push((op.to_uppercase(), args.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

fn env_file(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{l:?}"));
            assert!(!v.contains(['"', '\'', ' ']), "{l:?}: no quotes or spaces");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn the_dockerfile_and_the_environment_files_agree_with_the_serve_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init("deploy", "reviews", &dir);
    let (serve_envs, help) = serve_help();
    let port_help = help.split("--port <PORT>").nth(1).unwrap();
    let port_help = port_help.split("\n      --").next().unwrap();
    assert!(port_help.contains("[env: SENTIO_PORT="), "{port_help}");
    assert!(port_help.contains("[default: 8080]"), "{port_help}");

    let instructions = dockerfile(&dir.join("Dockerfile"));
    let get = |op: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    let exec_form = |op: &str| -> Vec<String> {
        let v = get(op);
        assert_eq!(v.len(), 1, "one {op}");
        serde_json::from_str(v[0]).unwrap_or_else(|e| panic!("{op} in exec form: {e}"))
    };
    // `docker run IMAGE serve` (SageMaker) runs `sentio serve`, as does the default CMD.
    assert_eq!(exec_form("ENTRYPOINT"), ["sentio"]);
    assert_eq!(exec_form("CMD"), ["serve"]);
    assert_eq!(get("EXPOSE"), ["8080"]);
    let args: BTreeMap<&str, &str> = get("ARG")
        .iter()
        .filter_map(|a| a.split_once('='))
        .collect();
    let mut env = BTreeMap::new();
    for a in get("ENV") {
        for kv in a.split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap();
            let mut v = v.to_string();
            for (name, default) in &args {
                v = v.replace(&format!("${{{name}}}"), default);
            }
            env.insert(k.to_string(), v);
        }
    }
    assert_eq!(env["SENTIO_PORT"], "8080");
    assert_eq!(env["SENTIO_HOST"], "0.0.0.0");
    for k in env.keys().filter(|k| k.starts_with("SENTIO_")) {
        assert!(
            serve_envs.contains(k),
            "the Dockerfile sets {k}, which serve does not read"
        );
    }
    let healthcheck = get("HEALTHCHECK").join(" ");
    assert!(
        healthcheck.contains("http://127.0.0.1:8080/ping"),
        "{healthcheck}"
    );

    for e in ["staging", "prod"] {
        let vars = env_file(&dir.join(format!("deploy/{e}.env")));
        for k in vars.keys().filter(|k| k.starts_with("SENTIO_")) {
            assert!(
                serve_envs.contains(k),
                "deploy/{e}.env sets {k}, which serve does not read"
            );
        }
        assert_eq!(vars["SENTIO_PORT"], "8080", "{e}");
        // The image serves its model as the environment's primary variant.
        assert_eq!(
            env["SENTIO_VARIANTS"],
            format!("{}=/opt/ml/model", vars["PRIMARY_VARIANT"])
        );
    }
    // `make container` runs the image with its `serve` entry, publishing port 8080.
    let out = make(&dir, &["-n", "container", "VERSION=reviews/3"]);
    assert!(
        out.contains("-p 8080:8080 reviews:reviews-3 serve"),
        "{out}"
    );
}

/// A process group (make and the endpoint it execs), ended when dropped.
struct Endpoint {
    child: Child,
    port: u16,
    name: &'static str,
}

impl Endpoint {
    fn start(dir: &Path, env: &'static str, version: &str) -> Endpoint {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join(format!("{env}.log"))).unwrap();
        let child = command("make")
            .args([
                "--no-print-directory",
                &format!("SENTIO={SENTIO}"),
                "serve",
                &format!("ENV={env}"),
                &format!("VERSION={version}"),
                &format!("SENTIO_PORT={port}"),
                "SENTIO_HOST=127.0.0.1",
            ])
            .env("SENTIO_ADMIN_TOKEN", TOKEN)
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start make serve");
        let mut e = Endpoint {
            child,
            port,
            name: env,
        };
        for _ in 0..1200 {
            if let Some(status) = e.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join(format!("{env}.log"))).unwrap();
                panic!("the {env} endpoint exited ({status}):\n{log}");
            }
            if http(e.port, "GET", "/ping", None).0 == 200 {
                return e;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the {env} endpoint did not answer /ping");
    }

    fn url(&self) -> String {
        format!("ENDPOINT_URL=http://127.0.0.1:{}", self.port)
    }

    /// (variant, weight, reference) from the management API.
    fn variants(&self) -> Vec<(String, f64, String)> {
        let (status, body) = http(self.port, "GET", "/v1/admin/endpoint", Some(TOKEN));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["weight"].as_f64().unwrap(),
                    v["reference"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let started = std::time::Instant::now();
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = self.child.wait();
        }
        eprintln!("stopping took {:?}", started.elapsed());
        eprintln!("stopped the {} endpoint", self.name);
    }
}

/// A plain HTTP/1.1 request; (status, body), status 0 when nothing answered.
fn http(port: u16, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut resp = String::new();
    if s.read_to_string(&mut resp).is_err() {
        return (0, String::new());
    }
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn build_train_targets_validate_train_register_and_approve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bt");
    init("build-train", "shop-reviews", &dir);
    assert!(!dir.join("Dockerfile").exists());
    make(&dir, &["validate"]);
    // Pull requests: the pipeline on the sample data, in a throwaway registry.
    make(&dir, &["test"]);
    assert!(dir.join("out/test-home/sentio.db").is_file());
    assert!(
        !dir.join(".sentio").exists(),
        "make test leaves the registry alone"
    );
    let out = make(&dir, &["register"]);
    assert!(out.contains("registered shop-reviews/1"), "{out}");
    assert_eq!(read(&dir.join("out/version.txt")), "shop-reviews/1\n");
    assert_eq!(
        read(&dir.join("out/version.env")),
        "MODEL_VERSION=shop-reviews/1\n"
    );
    let evaluation: serde_json::Value =
        serde_json::from_str(&read(&dir.join("out/evaluation.json"))).unwrap();
    assert!(evaluation["metrics"]["balanced_accuracy"]["value"].is_number());
    let described: serde_json::Value =
        serde_json::from_str(&read(&dir.join("out/model-version.json"))).unwrap();
    assert_eq!(described["status"], "PendingManualApproval");
    make(&dir, &["approve"]);
    let list = sentio(&["registry", "list"], &dir);
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        list.lines()
            .any(|l| l.starts_with("shop-reviews/1") && l.contains("Approved")),
        "{list}"
    );
    // A missing data file is named, and a bad parameter set is refused.
    let out = make_output(&dir, &["pipeline", "PARAMS=prod"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no data file 'data/raw/reviews.csv'"),
        "{}",
        text(&out)
    );
    let out = make_output(&dir, &["pipeline", "PARAMS=nope"]);
    assert!(
        text(&out).contains("no parameter file params/nope.toml"),
        "{}",
        text(&out)
    );
    // The CI install step uses the sentio on PATH and prints its folder.
    let bin_dir = Path::new(SENTIO).parent().unwrap();
    let out = command("sh")
        .arg("ci/install-sentio.sh")
        .current_dir(&dir)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("SENTIO_VERSION", env!("CARGO_PKG_VERSION"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        bin_dir.display().to_string()
    );
}

#[test]
fn build_train_deploy_runs_from_the_pipeline_to_a_promoted_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("btd");
    init("build-train-deploy", "reviews", &dir);
    make(&dir, &["pipeline"]);
    make(&dir, &["register"]);
    assert_eq!(read(&dir.join("out/version.txt")), "reviews/1\n");
    make(&dir, &["approve"]);
    // Staging and production both serve version 1.
    let staging = Endpoint::start(&dir, "staging", "reviews/1");
    let prod = Endpoint::start(&dir, "prod", "reviews/1");
    make(&dir, &["wait", "ENV=staging", &staging.url()]);

    // Version 2 (another seed), not approved yet: staging refuses it and stays on 1.
    make(&dir, &["register", "PIPELINE_FLAGS=-p seed=7"]);
    assert_eq!(read(&dir.join("out/version.txt")), "reviews/2\n");
    let quick = [
        "LOADTEST_RATE=10",
        "LOADTEST_DURATION=2s",
        "P99_OBJECTIVE=1h",
    ];
    let mut args = vec!["staging", "VERSION=reviews/2"];
    let staging_url = staging.url();
    args.push(&staging_url);
    args.extend(quick);
    let out = make_output(&dir, &args);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is not approved for deployment"),
        "{}",
        text(&out)
    );
    assert_eq!(staging.variants()[0].2, "registry:reviews:1");

    // Approved: deploy, smoke test, load test.
    make(&dir, &["approve", "VERSION=reviews/2"]);
    let out = make(&dir, &args);
    assert!(out.contains("smoke test passed"), "{out}");
    assert!(out.contains("load test: ") && out.contains("p99"), "{out}");
    assert_eq!(
        staging.variants(),
        [("primary".into(), 1.0, "registry:reviews:2".into())]
    );
    // A smoke test of a variant that does not answer fails; rollback restores version 1.
    let out = make_output(&dir, &["smoke", "VARIANT=nope", &staging_url]);
    assert!(!out.status.success(), "{}", text(&out));
    make(&dir, &["rollback", "ENV=staging", &staging_url]);
    assert_eq!(staging.variants()[0].2, "registry:reviews:1");
    make(&dir, &args);
    assert_eq!(staging.variants()[0].2, "registry:reviews:2");

    // Production: a canary with 10% of the traffic, smoke-tested, and its experiment.
    let prod_url = prod.url();
    make(&dir, &["canary", "VERSION=reviews/2", &prod_url]);
    assert_eq!(
        prod.variants(),
        [
            ("primary".into(), 90.0, "registry:reviews:1".into()),
            ("canary".into(), 10.0, "registry:reviews:2".into())
        ]
    );
    // No labelled traffic: no verdict, and by default the canary is rolled back.
    let out = make_output(
        &dir,
        &[
            "experiment",
            "VERSION=reviews/2",
            &prod_url,
            "EXPERIMENT_WAIT=0",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not enough data for a verdict"),
        "{}",
        text(&out)
    );
    assert_eq!(
        prod.variants(),
        [("primary".into(), 1.0, "registry:reviews:1".into())]
    );
    // Again, promoting without a verdict as configured: version 2 takes all the traffic.
    make(&dir, &["canary", "VERSION=reviews/2", &prod_url]);
    let out = make(
        &dir,
        &[
            "experiment",
            "VERSION=reviews/2",
            &prod_url,
            "EXPERIMENT_WAIT=0",
            "EXPERIMENT_ON_NOT_ENOUGH_DATA=promote",
        ],
    );
    assert!(out.contains("promoting as configured"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.join("out/experiment.json"))).unwrap();
    assert_eq!(report["verdict"], "not_enough_data");
    make(&dir, &["promote", "VERSION=reviews/2", &prod_url]);
    assert_eq!(
        prod.variants(),
        [("primary".into(), 1.0, "registry:reviews:2".into())]
    );
    let experiments = command(SENTIO)
        .args(["experiment", "--state-dir", "run/prod/state", "list"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let experiments = String::from_utf8_lossy(&experiments.stdout).to_string();
    assert!(
        experiments.contains("canary-reviews-2\treviews\tprimary,canary\tpromoted"),
        "{experiments}"
    );
    let history =
        String::from_utf8_lossy(&sentio(&["registry", "history"], &dir).stdout).to_string();
    assert!(history.contains("[reviews/primary]"), "{history}");
    assert!(history.contains("[reviews-staging/primary]"), "{history}");
    drop(prod);
    drop(staging);
}

#[test]
fn the_latency_objective_and_the_deploy_targets_check_their_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    init("deploy", "reviews", &dir);
    let help = make(&dir, &[]);
    for t in [
        "serve",
        "staging",
        "canary",
        "experiment",
        "promote",
        "rollback",
        "image",
    ] {
        assert!(help.contains(&format!("make {t} ")), "{t}: {help}");
    }
    assert!(!help.contains("make pipeline"), "{help}");
    let out = make_output(&dir, &["staging"]);
    assert!(text(&out).contains("VERSION is not set"), "{}", text(&out));
    let out = make_output(&dir, &["smoke", "ENV=qa"]);
    assert!(text(&out).contains("no deploy/qa.env"), "{}", text(&out));
    // The p99 objective and the error rate, judged from a load test report.
    let report = dir.join("lt.json");
    std::fs::write(
        &report,
        r#"{"run": {"requests": {"sent": 100, "ok": 99, "failed": 1, "non_2xx": 0},
                    "latency_ms": {"p99_ms": 120.0}}}"#,
    )
    .unwrap();
    let latency = |p99: &str, rate: &str| {
        command("python3")
            .args([
                "ci/endpoint.py",
                "latency",
                "lt.json",
                "--p99",
                p99,
                "--max-error-rate",
                rate,
            ])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    assert!(latency("250ms", "0.05").status.success());
    let out = latency("100ms", "0.05");
    assert!(
        text(&out).contains("p99 latency 120.0 ms is over the objective 100 ms"),
        "{}",
        text(&out)
    );
    let out = latency("1s", "0.001");
    assert!(
        text(&out).contains("error rate 0.0100 is over 0.001"),
        "{}",
        text(&out)
    );
    let out = latency("soon", "0.05");
    assert!(text(&out).contains("not a duration"), "{}", text(&out));
}

#[test]
fn the_pipeline_definition_is_the_built_in_one_named_after_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sentiment");
    init("build-train", "sentiment", &dir);
    let built_in = sentio(&["pipeline", "show"], Path::new("."));
    assert!(built_in.status.success(), "{}", text(&built_in));
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| *l != "description = \"the registry group versions are registered in\"")
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        strip(&read(&dir.join("pipeline.toml"))),
        strip(&String::from_utf8_lossy(&built_in.stdout)),
        "templates/parts/build-train/pipeline.toml no longer follows `sentio pipeline show`"
    );
}

fn check(dir: &Path) -> Output {
    sentio(&["init", "--check", dir.to_str().unwrap()], Path::new("."))
}

#[test]
fn check_lists_what_a_newer_sentio_would_change_and_what_you_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reviews");
    // Without --name the folder names the project.
    let out = sentio(
        &[
            "init",
            "--template",
            "build-train-deploy",
            dir.to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = check(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        report.contains(&format!(
            "made by sentio {version} (template build-train-deploy, name reviews)"
        )),
        "{report}"
    );
    assert!(
        report.contains("would write every generated file as it was written"),
        "{report}"
    );

    // Pretend an older sentio made it: its Makefile and README differed, it wrote a file
    // this one does not, and it had no release workflow. The project changed its README
    // and deleted the GitLab deploy jobs.
    let path = dir.join(".sentio-template.json");
    let mut m: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    m["sentio_version"] = "0.0.1".into();
    let files = m["files"].as_object_mut().unwrap();
    files.insert("Makefile".into(), "sha256:00".into());
    files.insert("README.md".into(), "sha256:00".into());
    files.insert("ci/old.sh".into(), "sha256:00".into());
    files.remove(".github/workflows/release.yml");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    std::fs::write(dir.join("ci/old.sh"), "echo old\n").unwrap();
    std::fs::remove_file(dir.join(".gitlab/ci/deploy.yml")).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("pipeline.toml"))
        .unwrap()
        .write_all(b"# ours\n")
        .unwrap();

    let out = check(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    assert!(report.contains(&format!("made by sentio 0.0.1 (template build-train-deploy, name reviews); this is sentio {version}")), "{report}");
    for want in [
        "add     .github/workflows/release.yml  (a file of yours has this name)",
        "change  Makefile  (you changed it too: merge by hand)",
        "change  README.md  (you changed it too: merge by hand)",
        "remove  ci/old.sh  (you changed it too: merge by hand)",
        "deleted  .gitlab/ci/deploy.yml",
        "modified pipeline.toml",
    ] {
        assert!(lines.contains(&want), "{want:?} in:\n{report}");
    }
    assert!(!report.contains("Dockerfile"), "{report}");
    assert!(
        report.contains("sentio init --force --template build-train-deploy --name reviews"),
        "{report}"
    );
    // Nothing was written by --check.
    assert_eq!(read(&dir.join("ci/old.sh")), "echo old\n");
    assert!(!dir.join(".gitlab/ci/deploy.yml").exists());

    // --force writes the generated files again and keeps the others.
    let out = sentio(
        &[
            "init",
            "--force",
            "--template",
            "build-train-deploy",
            "--name",
            "reviews",
            dir.to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.join(".gitlab/ci/deploy.yml").is_file());
    assert!(dir.join("ci/old.sh").is_file());
    assert!(!read(&dir.join("pipeline.toml")).contains("# ours"));
    let out = check(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fails = |args: &[&str], code: i32, needle: &str| {
        let out = sentio(args, d);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    // clap's usage errors exit with 2.
    fails(
        &["init", "--template", "train-deploy", "x"],
        2,
        "[possible values: build-train-deploy, build-train, deploy]",
    );
    fails(&["init", "x"], 2, "--template <TEMPLATE>");
    fails(
        &["init", "--check", "--template", "deploy", "x"],
        2,
        "cannot be used with",
    );
    fails(&["init", "--template", "deploy"], 2, "<DIR>");
    // Ours exit with 1.
    fails(
        &["init", "--template", "deploy", "--name", "Big Name", "x"],
        1,
        "\"Big Name\" is not a project name",
    );
    std::fs::create_dir(d.join("My Project")).unwrap();
    fails(
        &["init", "--template", "deploy", "My Project"],
        1,
        "the folder's name is not a project name: give --name",
    );
    std::fs::write(d.join("file"), "x").unwrap();
    fails(
        &["init", "--template", "deploy", "file"],
        1,
        "exists and is not a folder",
    );
    std::fs::create_dir(d.join("used")).unwrap();
    std::fs::write(d.join("used/notes.txt"), "mine").unwrap();
    fails(
        &["init", "--template", "deploy", "--name", "x", "used"],
        1,
        "used is not empty: choose an empty or new folder, or pass --force",
    );
    assert_eq!(std::fs::read_dir(d.join("used")).unwrap().count(), 1);
    fails(
        &["init", "--check", "used"],
        1,
        "has no .sentio-template.json",
    );
    fails(&["init", "--check", "absent"], 1, "absent is not a folder");
    std::fs::write(d.join("used/.sentio-template.json"), "{").unwrap();
    fails(&["init", "--check", "used"], 1, "is not a valid manifest");
    let manifest = serde_json::json!({
        "generator": "sentio init", "sentio_version": "9.0.0", "template": "serverless",
        "name": "x", "files": {}
    });
    std::fs::write(d.join("used/.sentio-template.json"), manifest.to_string()).unwrap();
    fails(
        &["init", "--check", "used"],
        1,
        "names the template \"serverless\", which this sentio",
    );
    // A new folder, nested, is created.
    let out = sentio(&["init", "--template", "deploy", "--name", "x", "a/b/c"], d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.join("a/b/c/.sentio-template.json").is_file());
}
