//! deploy/kubernetes/: every manifest validates with kubernetes-validate (strict, for a
//! current Kubernetes version), the kustomizations refer to what exists, and the manifests
//! agree with the CLI: each `sentio …` command line parses (`sentio ARGS --help` exits 0),
//! ports, probes and environment variables are the ones `sentio … --help` names, the
//! preStop pause plus the SIGTERM drain fit the grace period, Services and budgets select
//! pods that exist, and the Indexed Job's shards match its completions.
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are judged against (kubernetes-validate's newest).
const KUBERNETES_VERSION: &str = "1.37.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("SENTIO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let p = venv.join("bin").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it installs {name} into .venv)",
        p.display()
    );
    p
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out.sort();
}

fn manifests() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut all = Vec::new();
    yaml_files(&root().join("deploy/kubernetes"), &mut all);
    all.into_iter()
        .partition(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

fn validate(files: &[PathBuf]) {
    let out = Command::new(venv_bin("kubernetes-validate"))
        .args(["-k", KUBERNETES_VERSION, "--strict", "--quiet"])
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubernetes-validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_manifest_validates_and_every_kustomization_refers_to_what_exists() {
    let (objects, kustomizations) = manifests();
    assert!(objects.len() >= 8, "{objects:?}");
    validate(&objects);
    let base: Vec<Value> = objects.iter().flat_map(|p| docs(p)).collect();
    let named = |kind: &str, name: &str| {
        base.iter()
            .any(|d| d["kind"] == kind && d["metadata"]["name"].as_str() == Some(name))
    };
    let images: BTreeSet<String> = containers(&base)
        .into_iter()
        .filter_map(|(_, c)| {
            c["image"]
                .as_str()
                .map(|i| i.split(':').next().unwrap().to_string())
        })
        .collect();
    assert_eq!(kustomizations.len(), 3, "{kustomizations:?}");
    for k in &kustomizations {
        let doc = &docs(k)[0];
        let dir = k.parent().unwrap();
        assert_eq!(doc["kind"], "Kustomization", "{}", k.display());
        for r in doc["resources"].as_sequence().unwrap() {
            let p = dir.join(r.as_str().unwrap());
            assert!(
                p.exists(),
                "{}: resource {} does not exist",
                k.display(),
                p.display()
            );
        }
        for p in doc["patches"].as_sequence().into_iter().flatten() {
            let (kind, name) = (
                p["target"]["kind"].as_str().unwrap(),
                p["target"]["name"].as_str().unwrap(),
            );
            assert!(
                named(kind, name),
                "{}: patch target {kind}/{name} does not exist",
                k.display()
            );
        }
        for r in doc["replicas"].as_sequence().into_iter().flatten() {
            assert!(
                named("Deployment", r["name"].as_str().unwrap()),
                "{}: replicas of {:?}",
                k.display(),
                r["name"]
            );
        }
        for i in doc["images"].as_sequence().into_iter().flatten() {
            assert!(
                images.contains(i["name"].as_str().unwrap()),
                "{}: image {:?}",
                k.display(),
                i["name"]
            );
        }
    }
    // Where kubectl is at hand, the overlays as kustomize renders them validate too.
    if let Ok(o) = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
    {
        if o.status.success() {
            let tmp = tempfile::tempdir().unwrap();
            for overlay in ["dev", "production"] {
                let dir = root().join("deploy/kubernetes/overlays").join(overlay);
                let r = Command::new("kubectl")
                    .arg("kustomize")
                    .arg(&dir)
                    .output()
                    .unwrap();
                assert!(
                    r.status.success(),
                    "kubectl kustomize {overlay}: {}",
                    String::from_utf8_lossy(&r.stderr)
                );
                let f = tmp.path().join(format!("{overlay}.yaml"));
                std::fs::write(&f, &r.stdout).unwrap();
                validate(&[f]);
            }
        }
    }
}

/// (the manifest's kind/name, container) of every pod template.
fn containers(all: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for d in all {
        let spec = match d["kind"].as_str() {
            Some("Deployment" | "Job") => &d["spec"]["template"]["spec"],
            Some("CronJob") => &d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => continue,
        };
        for c in spec["containers"].as_sequence().unwrap() {
            let mut c = c.clone();
            c["__pod"] = spec.clone();
            out.push((
                format!(
                    "{}/{}",
                    d["kind"].as_str().unwrap(),
                    d["metadata"]["name"].as_str().unwrap()
                ),
                c,
            ));
        }
    }
    out
}

fn sentio(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sentio"))
        .args(args)
        .env_remove("SENTIO_HOME")
        .output()
        .unwrap()
}

/// `sentio SUBCOMMAND… --help` of a command line (the arguments before the first flag).
fn help(args: &[String]) -> String {
    let sub: Vec<String> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let out = sentio(&[sub, vec!["--help".into()]].concat());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn port_of(container: &Value, name_or_number: &Value) -> u64 {
    if let Some(n) = name_or_number.as_u64() {
        return n;
    }
    let name = name_or_number.as_str().unwrap();
    container["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no port named {name}"))
}

#[test]
fn manifests_match_the_cli() {
    let (objects, _) = manifests();
    let all: Vec<Value> = objects.iter().flat_map(|p| docs(p)).collect();
    let config: BTreeMap<String, String> = all
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "sentio-config")
        .and_then(|d| serde_yaml::from_value(d["data"].clone()).ok())
        .expect("the sentio-config ConfigMap");
    let mut serve_help = String::new();
    for (what, c) in containers(&all) {
        assert_eq!(c["command"][0], "sentio", "{what}");
        let args: Vec<String> = c["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().replace("$(JOB_COMPLETION_INDEX)", "0"))
            .collect();
        let full_args = args.clone();
        // The command line parses: clap stops at --help only when every flag before it is
        // known and its value valid.
        let out = sentio(&[args.clone(), vec!["--help".into()]].concat());
        assert!(
            out.status.success(),
            "{what}: `sentio {}` does not parse: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let h = help(&args);
        // Environment variables set on the container are ones the command reads.
        for e in c["env"].as_sequence().into_iter().flatten() {
            let name = e["name"].as_str().unwrap();
            if name.starts_with("SENTIO_") {
                assert!(
                    h.contains(&format!("env: {name}")),
                    "{what}: {name} is not in `sentio {} --help`",
                    args[0]
                );
            }
        }
        let serves = args[0] == "serve";
        if serves {
            serve_help = h.clone();
        }
        if args[0] == "transform" {
            let shard = flag(&full_args, "--shard").expect("the Indexed Job passes --shard");
            let count: u64 = shard.split('/').nth(1).unwrap().parse().unwrap();
            let job = all.iter().find(|d| d["kind"] == "Job").unwrap();
            assert_eq!(job["spec"]["completionMode"], "Indexed");
            assert_eq!(
                job["spec"]["completions"].as_u64(),
                Some(count),
                "completions = shard count"
            );
            assert_eq!(job["spec"]["parallelism"].as_u64(), Some(count));
        }
        // Ports: the one the command listens on is the container's port.
        let listen: u64 = match flag(&args, "--port") {
            Some(p) => p.parse().unwrap(),
            None if serves => 8080,
            None => {
                assert!(c["ports"].is_null(), "{what}: a port but no --port");
                continue;
            }
        };
        let ports: Vec<u64> = c["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p["containerPort"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, vec![listen], "{what}");
        for probe in ["readinessProbe", "livenessProbe"] {
            let p = &c[probe];
            let port = if p["httpGet"].is_mapping() {
                &p["httpGet"]["port"]
            } else {
                &p["tcpSocket"]["port"]
            };
            assert_eq!(port_of(&c, port), listen, "{what} {probe}");
        }
        if serves {
            // Ready once the models are loaded; not ready from SIGTERM on.
            assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ping", "{what}");
            let pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
                .as_u64()
                .expect("a preStop pause");
            let drain: f64 = config["SENTIO_DRAIN_TIMEOUT_SECS"].parse().unwrap();
            let grace = c["__pod"]["terminationGracePeriodSeconds"]
                .as_u64()
                .unwrap();
            assert!(
                pause as f64 + drain < grace as f64,
                "{what}: preStop {pause}s + drain {drain}s must fit the grace period {grace}s"
            );
            let upstream = flag(&args, "--upstream");
            if let Some(u) = upstream {
                let host = u.split("//").nth(1).unwrap().split(':').next().unwrap();
                assert!(
                    all.iter()
                        .any(|d| d["kind"] == "Service" && d["metadata"]["name"] == host),
                    "{what}: --upstream {u} names no Service"
                );
            }
        }
    }
    // The ConfigMap's variables are the endpoint's own flags (SENTIO_LOG is the log filter).
    for key in config.keys().filter(|k| k.as_str() != "SENTIO_LOG") {
        assert!(
            serve_help.contains(&format!("env: {key}")),
            "ConfigMap key {key} is not in `sentio serve --help`"
        );
    }
    // The stores' Secret (dev overlay) holds variables the commands read.
    let dev = docs(&root().join("deploy/kubernetes/overlays/dev/kustomization.yaml"));
    for lit in dev[0]["secretGenerator"][0]["literals"]
        .as_sequence()
        .unwrap()
    {
        let key = lit.as_str().unwrap().split('=').next().unwrap();
        if key.starts_with("SENTIO_") {
            assert!(
                serve_help.contains(&format!("env: {key}")),
                "Secret key {key} is not in `sentio serve --help`"
            );
        }
    }
    // Services and disruption budgets select pods that exist, by ports they have.
    let pods: Vec<(BTreeMap<String, String>, Value)> = all
        .iter()
        .filter(|d| d["kind"] == "Deployment")
        .map(|d| {
            (
                serde_yaml::from_value(d["spec"]["template"]["metadata"]["labels"].clone())
                    .unwrap(),
                d["spec"]["template"]["spec"]["containers"][0].clone(),
            )
        })
        .collect();
    let selects = |sel: &Value| -> Vec<&Value> {
        let sel: BTreeMap<String, String> = serde_yaml::from_value(sel.clone()).unwrap();
        pods.iter()
            .filter(|(l, _)| sel.iter().all(|(k, v)| l.get(k) == Some(v)))
            .map(|(_, c)| c)
            .collect()
    };
    for d in &all {
        match d["kind"].as_str() {
            Some("Service") => {
                let selected = selects(&d["spec"]["selector"]);
                assert_eq!(selected.len(), 1, "{:?}", d["metadata"]["name"]);
                for p in d["spec"]["ports"].as_sequence().unwrap() {
                    port_of(selected[0], &p["targetPort"]);
                }
            }
            Some("PodDisruptionBudget") => {
                assert_eq!(
                    selects(&d["spec"]["selector"]["matchLabels"]).len(),
                    1,
                    "{:?}",
                    d["metadata"]["name"]
                );
            }
            Some("HorizontalPodAutoscaler") => {
                let target = d["spec"]["scaleTargetRef"]["name"].as_str().unwrap();
                assert!(all
                    .iter()
                    .any(|x| x["kind"] == "Deployment" && x["metadata"]["name"] == target));
                let telemetry =
                    std::fs::read_to_string(root().join("serve/src/telemetry.rs")).unwrap();
                for m in d["spec"]["metrics"].as_sequence().unwrap() {
                    if let Some(name) = m["pods"]["metric"]["name"].as_str() {
                        assert!(
                            telemetry.contains(&format!("\"{name}\"")),
                            "the endpoint exports no metric {name}"
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
