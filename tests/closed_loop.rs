//! The closed loop on real processes and files: the pipeline registers v1 → an endpoint
//! serves it with capture → traffic drifts → the drift monitor flags it → retraining runs
//! from v1's lineage with the ground truth sent to `/feedback` → the gate → v2 registered →
//! v2 deployed as a canary → the A/B experiment's verdict → promotion → the registry's
//! history shows every step in order. Once with the endpoint's own scheduled monitor, once
//! from the command line alone (`sentio monitor run … --retrain`, `sentio experiment
//! promote`).
mod support;
use std::path::Path;
use support::*;

const TOKEN: &str = "loop-token";
const LABELS: [&str; 3] = ["positive", "negative", "neutral"];

/// A review of another domain whose label hangs on one made-up word: the model trained on
/// clothing reviews cannot know it, a model retrained on the ground truth can.
fn drifted(i: usize) -> (String, &'static str) {
    let word = ["zorblax", "quexil", "plimbo"][i % 3];
    let gadget = ["router", "charger", "laptop", "speaker", "drone"][i % 5];
    (
        format!("The {gadget} firmware {word} update number {i} came with a {word} dock"),
        LABELS[i % 3],
    )
}

/// Invokes the endpoint with drifted reviews `range` (optionally at one variant) and sends
/// their ground truth, twenty at a time.
fn drift_with_truth(s: &Server, range: std::ops::Range<usize>, target: Option<&str>) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(20) {
        let mut truth = Vec::new();
        for &i in chunk {
            let (text, label) = drifted(i);
            let id = format!("d-{i}");
            let mut headers = vec![
                ("content-type", "application/json"),
                ("x-amzn-sagemaker-inference-id", id.as_str()),
            ];
            if let Some(t) = target {
                headers.push(("x-amzn-sagemaker-target-variant", t));
            }
            let body = serde_json::json!({ "text": text }).to_string();
            let (status, answer) = s.call("POST", "/invocations", &headers, &body);
            assert_eq!(status, 200, "{answer}");
            truth.push(serde_json::json!({ "inferenceId": id, "label": label }));
        }
        let body = serde_json::Value::Array(truth).to_string();
        let (status, answer) = s.call(
            "POST",
            "/feedback",
            &[("content-type", "application/json")],
            &body,
        );
        assert_eq!(status, 202, "{answer}");
    }
}

/// `(name, model version)` of each variant.
fn variants(s: &Server) -> Vec<(String, String)> {
    let auth = format!("Bearer {TOKEN}");
    let v = s.json("GET", "/v1/admin/endpoint", &[("authorization", &auth)], "");
    v["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["model_version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `(event, version, variant)` of the registry's history, oldest first.
fn history(home: &str, dir: &Path) -> Vec<(String, String, String)> {
    let out = sentio_ok(&["registry", "history", "--home", home, "--json"], dir);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let events = v
        .as_array()
        .or_else(|| v["events"].as_array())
        .expect("a list of events");
    events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_string(),
                e["version"].as_str().unwrap_or_default().to_string(),
                e["variant"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `expected` occurs in `events` in this order (other events may come between).
fn in_order(events: &[(String, String, String)], expected: &[(&str, &str, &str)]) {
    let mut at = 0;
    for (event, version, variant) in expected {
        match events[at..].iter().position(|e| {
            e.0 == *event && e.1 == *version && (variant.is_empty() || e.2 == *variant)
        }) {
            Some(i) => at += i + 1,
            None => {
                panic!("no {event} of {version} on {variant:?} after event {at} in {events:#?}")
            }
        }
    }
}

#[test]
fn the_endpoints_monitor_closes_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_v1(d);
    let v1 = versions(&home, d)[0].clone();
    let s = Server::start(
        &[
            "--home",
            &home,
            "--model",
            "registry:sentiment",
            "--admin-token",
            TOKEN,
            "--capture-dir",
            "capture",
            "--state-dir",
            "state",
            "--monitor-interval-secs",
            "1",
            "--monitor-min-samples",
            "200",
            "--monitor-retrain-home",
            &home,
            "--retrain-with-feedback",
            "--retrain-auto-approve",
            "--deploy",
            "canary:20",
            "--auto-promote",
            "--canary-min-samples",
            "30",
        ],
        d,
    );
    assert_eq!(variants(&s), [("AllTraffic".to_string(), v1.clone())]);

    // Drifted traffic and its ground truth: the monitor flags it and retrains; v2 comes
    // back as a canary beside the live variant.
    drift_with_truth(&s, 0..300, None);
    let v2 = wait_for("the canary", 3000, || {
        let vs = variants(&s);
        vs.iter().find(|v| v.0 == "canary").map(|v| v.1.clone())
    });
    assert_ne!(v2, v1);
    let monitor = d.join("monitor/sentio");
    assert!(
        monitor.join("monitoring_summary.json").is_file(),
        "{}",
        monitor.display()
    );

    // Labelled traffic at both variants: the verdict promotes the canary's model to the
    // live variant and retires the canary.
    drift_with_truth(&s, 300..340, Some("AllTraffic"));
    drift_with_truth(&s, 340..380, Some("canary"));
    wait_for("the promotion", 3000, || {
        (variants(&s) == [("AllTraffic".to_string(), v2.clone())]).then_some(())
    });
    let experiments = sentio_ok(&["experiment", "--state-dir", "state", "list"], d);
    assert!(
        experiments.contains("canary-") && experiments.contains("promoted"),
        "{experiments}"
    );

    in_order(
        &history(&home, d),
        &[
            ("registered", &v1, ""),
            ("deployed", &v1, "AllTraffic"),
            ("registered", &v2, ""),
            ("deployed", &v2, "canary"),
            ("canary", &v2, "canary"),
            ("deployed", &v2, "AllTraffic"),
            ("promoted", &v2, "AllTraffic"),
            ("retired", &v2, "canary"),
        ],
    );
    // v2's lineage says why it ran.
    let lineage = sentio_ok(&["lineage", &v2, "--home", &home, "--json"], d);
    assert!(
        lineage.contains("retrain of sentiment/1") && lineage.contains("drift"),
        "{lineage}"
    );
}

#[test]
fn the_command_line_closes_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_v1(d);
    let v1 = versions(&home, d)[0].clone();
    let s = Server::start(
        &[
            "--home",
            &home,
            "--model",
            "registry:sentiment",
            "--admin-token",
            TOKEN,
            "--capture-dir",
            "capture",
            "--state-dir",
            "state",
        ],
        d,
    );
    drift_with_truth(&s, 0..300, None);
    // Every answer is in, and the writer flushes on a tick: wait until the capture holds
    // all 300 records before judging it.
    wait_for("300 captured records", 600, || {
        let n = monitoring::capture::read_dir(&d.join("capture/sentio"))
            .map(|r| r.len())
            .unwrap_or(0);
        (n >= 300).then_some(())
    });
    let url = format!("http://127.0.0.1:{}", s.port);
    let out = command()
        .args([
            "monitor",
            "run",
            "--home",
            &home,
            "--capture",
            "capture/sentio",
            "--out",
            "report",
            "--retrain",
            "--feedback",
            "state/feedback/sentio",
            "--auto-approve",
            "--deploy",
            "canary:20",
            "--url",
            &url,
            "--state-dir",
            "state",
            "--admin-token",
            TOKEN,
            "--fail-on-violation",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let text = describe(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("retraining ") && text.contains("300 labelled examples"),
        "{text}"
    );
    let v2 = wait_for("the canary", 10, || {
        variants(&s)
            .into_iter()
            .find(|v| v.0 == "canary")
            .map(|v| v.1)
    });
    assert_ne!(v2, v1);
    let id = text
        .split_whitespace()
        .find(|w| w.starts_with("canary-"))
        .expect("the experiment's id")
        .to_string();

    // Not enough data yet: promotion is refused and changes nothing.
    let early = command()
        .args([
            "experiment",
            "--state-dir",
            "state",
            "promote",
            "--id",
            &id,
            "--url",
            &url,
            "--admin-token",
            TOKEN,
            "--home",
            &home,
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(early.status.code(), Some(1), "{}", describe(&early));
    assert!(describe(&early).contains("no winner to promote yet"));

    // The endpoint's report judges at 100 labelled instances per variant.
    drift_with_truth(&s, 300..420, Some("AllTraffic"));
    drift_with_truth(&s, 420..540, Some("canary"));
    // The last records reach the files on the writer's next flush.
    let report = wait_for("a verdict", 600, || {
        let r = s.json("GET", &format!("/experiments/{id}"), &[], "");
        (r["verdict"] != "not_enough_data").then_some(r)
    });
    assert_eq!(report["verdict"], "winner", "{report}");
    assert_eq!(report["variant"], "canary", "{report}");
    let promoted = sentio_ok(
        &[
            "experiment",
            "--state-dir",
            "state",
            "promote",
            "--id",
            &id,
            "--url",
            &url,
            "--admin-token",
            TOKEN,
            "--home",
            &home,
        ],
        d,
    );
    assert!(promoted.contains("canary won"), "{promoted}");
    assert_eq!(variants(&s), [("AllTraffic".to_string(), v2.clone())]);
    in_order(
        &history(&home, d),
        &[
            ("deployed", &v1, "AllTraffic"),
            ("registered", &v2, ""),
            ("deployed", &v2, "canary"),
            ("deployed", &v2, "AllTraffic"),
            ("promoted", &v2, "AllTraffic"),
            ("retired", &v2, "canary"),
        ],
    );
}

/// `make demo`'s command: the whole flow, the loop included, ends with v2 promoted.
#[test]
fn the_demo_runs_the_loop_to_a_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let out = command()
        .args(["demo", "--dir", "out", "--device", "cpu", "--rows", "1500"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = describe(&out);
    assert!(out.status.success(), "{text}");
    for step in [
        "3. registered sentiment/1",
        "4. endpoint on 127.0.0.1",
        "5. the closed loop",
        "deployed as canary",
        "the experiment's verdict promoted",
        "6. the registry's history",
        "sentio console --home",
    ] {
        assert!(text.contains(step), "no {step:?} in {text}");
    }
    let history = text.split("6. the registry's history").nth(1).unwrap();
    let events: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "promoted").count(),
        1,
        "{history}"
    );
    assert_eq!(
        events.iter().filter(|e| **e == "retired").count(),
        1,
        "{history}"
    );
}
