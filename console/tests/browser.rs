//! The console in real headless Chromium, over a home filled by real pipeline runs and a
//! live endpoint: every page loads without console errors and shows the right content,
//! the graphs and charts are drawn, approving a version and changing weights and models
//! through the pages shows up in the registry and the endpoint, and actions without the
//! token are refused. Screenshots go to target/tmp/console-screenshots/.
mod common;

use common::browser::{self, count, open};
use common::{eventually, fixture, get, TOKEN};
use fantoccini::{Client, Locator};

/// Fills the `name` field of the form `data-action=action` (the first, or the one inside
/// `scope`) and submits it; waits for the page the action leads to.
async fn submit(c: &Client, form_css: &str, fields: &[(&str, &str)]) {
    let form = c
        .find(Locator::Css(form_css))
        .await
        .unwrap_or_else(|e| panic!("no form {form_css}: {e}"));
    for (name, value) in fields {
        let input = form
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("{form_css}: no field {name}: {e}"));
        if input.tag_name().await.unwrap() == "select" {
            input.select_by_value(value).await.unwrap();
        } else {
            input.clear().await.unwrap();
            input.send_keys(value).await.unwrap();
        }
    }
    // The page the form is on goes stale once the browser has the action's answer (the
    // URL alone cannot tell: after a first action it already says `done=`).
    let page = c.find(Locator::Css("html")).await.unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the action's page", 60, || async {
        page.tag_name().await.is_err().then_some(())
    })
    .await;
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("footer"))
        .await
        .unwrap();
}

#[test]
fn the_console_in_a_real_browser() {
    let runs = fixture::runs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(flow(&runs));
}

async fn flow(r: &fixture::Runs) {
    let secret_root = r.dir.path().display().to_string();
    let mut ep = fixture::endpoint(r).await;
    assert_eq!(fixture::traffic(ep.addr, 40).await, 40);
    let captured = ep.capture.join("demo").join("A");
    eventually("captures of variant A on disk", 30, || {
        let captured = captured.clone();
        async move {
            let n = monitoring::capture::read_dir(&captured)
                .map(|v| v.len())
                .unwrap_or(0);
            (n >= 5).then_some(())
        }
    })
    .await;
    fixture::drift_reports(r, &ep);
    let (console, _stop) = common::start_console(&r.home, true).await;
    let base = format!("http://{console}");
    let driver = browser::driver().await;
    let c = browser::session(&driver).await;

    // Home: executions, the group, the endpoint with its variants.
    let html = open(&c, &format!("{base}/"), "home").await;
    for id in &r.executions {
        assert!(html.contains(id.as_str()), "home lacks execution {id}");
    }
    assert!(html.contains("data-group=\"sentiment\""));
    assert_eq!(count(&c, "tr[data-endpoint=demo] .variant").await, 2);

    // Pipelines: the definition drawn as a graph (8 steps) and every execution listed.
    let html = open(&c, &format!("{base}/pipelines"), "pipelines").await;
    assert!(count(&c, "svg[data-chart=dag] g.node").await >= 8);
    assert!(count(&c, "svg[data-chart=dag] path.edge").await >= 8);
    assert!(r.executions.iter().all(|id| html.contains(id.as_str())));

    // An execution on its graph: every step coloured by its state.
    let html = open(
        &c,
        &format!("{base}/executions/{}", r.executions[0]),
        "execution-v1",
    )
    .await;
    assert_eq!(count(&c, "g.node[data-state=succeeded]").await, 7, "{html}");
    let not_run = count(&c, "g.node[data-state=skipped]").await
        + count(&c, "g.node[data-state=notrun]").await;
    assert_eq!(not_run, 1, "the fail step did not run");
    assert!(count(&c, "section.step[data-step=train] .io code").await >= 3);
    let html = open(
        &c,
        &format!("{base}/executions/{}", r.executions[2]),
        "execution-failed",
    )
    .await;
    assert_eq!(
        count(&c, "g.node[data-node=fail][data-state=failed]").await,
        1
    );
    assert!(
        count(&c, "g.node[data-state=cached]").await >= 3,
        "steps answered from the cache"
    );
    assert!(html.contains("cache: "));

    // Registry: both versions with metrics; approve v2 through the page.
    let group = format!("{base}/registry/sentiment");
    let html = open(&c, &group, "registry").await;
    assert_eq!(count(&c, "table#versions tbody tr").await, 2);
    assert!(html.contains("balanced_accuracy"));
    assert!(count(&c, "svg[data-chart=lines] circle").await >= 2);
    // Without the token the action is refused and nothing changes.
    let form = format!(
        "tr[data-number=\"{}\"] form[data-action=approve]",
        r.v2.number
    );
    submit(&c, &form, &[("note", "no token"), ("token", "")]).await;
    let refused = c.source().await.unwrap();
    assert!(refused.contains("needs the admin token"), "{refused}");
    browser::screenshot(&c, "refused").await;
    let _ = browser::errors(&c).await; // the 401 itself is logged
    assert_eq!(
        r.stores
            .registry()
            .describe(&r.v2.version)
            .unwrap()
            .status
            .to_string(),
        "PendingManualApproval"
    );
    open(&c, &group, "registry-again").await;
    submit(
        &c,
        &form,
        &[("note", "looks good in review"), ("token", TOKEN)],
    )
    .await;
    assert!(browser::errors(&c).await.is_empty());
    assert_eq!(
        count(
            &c,
            &format!("tr[data-number=\"{}\"][data-status=Approved]", r.v2.number)
        )
        .await,
        1
    );
    assert!(c.source().await.unwrap().contains("is now Approved"));
    let v2 = r.stores.registry().describe(&r.v2.version).unwrap();
    assert_eq!(v2.status.to_string(), "Approved");
    let events = r.stores.registry().version_history(&v2).unwrap();
    assert!(events.iter().any(|e| e.event == "approved"
        && e.note == "looks good in review"
        && e.actor == "console"));
    browser::screenshot(&c, "approved").await;

    // Model performance: confusion matrix, per-class bars, training curves; comparison.
    open(&c, &format!("{base}/models/{}", r.v1.version), "model").await;
    let k = count(
        &c,
        "section[data-model=main] svg[data-chart=heatmap] rect.cell",
    )
    .await;
    assert!(k >= 4 && (k as f64).sqrt().fract() == 0.0, "{k} cells");
    assert!(count(&c, "section[data-model=main] svg[data-chart=bars] rect.bar").await >= 6);
    assert!(
        count(
            &c,
            "section[data-model=main] svg[data-chart=lines] polyline"
        )
        .await
            >= 3
    );
    let html = open(
        &c,
        &format!("{base}/models/{}?compare={}", r.v2.version, r.v1.version),
        "model-compare",
    )
    .await;
    assert_eq!(count(&c, "section.model").await, 2);
    assert!(html.contains("table id=\"comparison\""));

    // Lineage: data set → artifacts → model → deployments.
    open(&c, &format!("{base}/lineage/{}", r.v1.version), "lineage").await;
    for kind in ["data", "artifact", "model", "deployment"] {
        assert!(
            count(&c, &format!("g.node[data-state={kind}]")).await >= 1,
            "no {kind} node"
        );
    }

    // Endpoint: variants, live charts drawn from /metrics while traffic flows.
    let endpoint = format!("{base}/endpoints/demo");
    let html = open(&c, &endpoint, "endpoint").await;
    assert_eq!(count(&c, "table#variants tr[data-variant]").await, 2);
    assert!(html.contains(&format!("{}/{}", r.v1.group, r.v1.number)));
    let addr = ep.addr;
    let load = tokio::spawn(async move {
        for _ in 0..30 {
            fixture::traffic(addr, 10).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    });
    eventually("live charts with data", 90, || async {
        (count(&c, "#live svg[data-chart=lines] polyline").await >= 4).then_some(())
    })
    .await;
    assert!(browser::errors(&c).await.is_empty());
    browser::screenshot(&c, "endpoint-live").await;

    // Weights through the page → the endpoint.
    submit(
        &c,
        "form[data-action=weights]",
        &[("weight:A", "3"), ("weight:B", "1"), ("token", TOKEN)],
    )
    .await;
    assert!(browser::errors(&c).await.is_empty());
    let models = get(ep.addr, "/v1/models").await.json();
    let weight = |v: &serde_json::Value, n: &str| {
        v["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()["weight"]
            .as_f64()
            .unwrap()
    };
    assert_eq!((weight(&models, "A"), weight(&models, "B")), (3.0, 1.0));
    assert_eq!(count(&c, "tr[data-variant=A][data-weight=\"3\"]").await, 1);

    // Deploy the newly approved v2 to B through the page → the endpoint serves it.
    submit(
        &c,
        "form[data-action=deploy]",
        &[
            ("variant", "B"),
            ("version", &r.v2.version),
            ("token", TOKEN),
        ],
    )
    .await;
    assert!(browser::errors(&c).await.is_empty());
    let models = get(ep.addr, "/v1/models").await.json();
    let b = models["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "B")
        .unwrap()
        .clone();
    assert_eq!(b["model_version"], r.v2.version.as_str());
    assert_eq!(
        count(
            &c,
            &format!("tr[data-variant=B][data-version=\"{}\"]", r.v2.version)
        )
        .await,
        1
    );
    browser::screenshot(&c, "deployed").await;
    load.await.unwrap();

    // Monitoring: drift runs over time, the newest run's histograms, quality per variant.
    let html = open(&c, &format!("{base}/monitoring/demo"), "monitoring").await;
    assert!(html.contains("data-series=\"A\""));
    assert!(count(&c, "section.series svg[data-chart=lines] circle").await >= 2);
    assert!(count(&c, "section.series svg[data-chart=bars] rect.bar").await >= 2);
    assert!(count(&c, "table#quality tr[data-variant]").await >= 1);
    open(&c, &format!("{base}/monitoring"), "monitoring-list").await;

    // Experiments: the report with intervals drawn, and promotion through the page.
    let html = open(&c, &format!("{base}/experiments"), "experiments").await;
    assert!(html.contains("data-experiment=\"ab-1\""));
    open(&c, &format!("{base}/experiments/demo/ab-1"), "experiment").await;
    assert!(count(&c, "svg[data-chart=intervals] line.interval").await >= 1);
    assert!(c.source().await.unwrap().contains("Verdict"));
    submit(
        &c,
        "form[data-action=promote]",
        &[("winner", "A"), ("token", TOKEN)],
    )
    .await;
    assert!(browser::errors(&c).await.is_empty());
    let models = get(ep.addr, "/v1/models").await.json();
    assert_eq!((weight(&models, "A"), weight(&models, "B")), (1.0, 0.0));
    let x = monitoring::experiment::ExperimentStore::new(&ep.state)
        .load("ab-1")
        .unwrap();
    assert_eq!(
        (x.status.as_str(), x.winner.as_deref()),
        ("promoted", Some("A"))
    );

    // The rest of the pages load cleanly; no page shows a filesystem path.
    for (path, name) in [
        ("/registry", "registry-list"),
        ("/endpoints", "endpoints"),
        ("/", "home-after"),
    ] {
        open(&c, &format!("{base}{path}"), name).await;
    }
    for path in [
        "/".to_string(),
        "/pipelines".into(),
        format!("/executions/{}", r.executions[0]),
        "/registry/sentiment".into(),
        format!("/models/{}", r.v1.version),
        format!("/lineage/{}", r.v1.version),
        "/endpoints/demo".into(),
        "/monitoring/demo".into(),
        "/experiments/demo/ab-1".into(),
    ] {
        let api = if path == "/" {
            "/api/home".to_string()
        } else {
            format!("/api{path}")
        };
        for p in [path.clone(), api] {
            let reply = get(console, &p).await;
            assert_eq!(reply.status, 200, "{p}: {}", reply.text());
            assert!(
                !reply.text().contains(&secret_root),
                "{p} shows a filesystem path"
            );
        }
    }
    c.close().await.unwrap();
    let _ = ep.stop.take().map(|s| s.send(()));
}
