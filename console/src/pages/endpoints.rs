//! Endpoints: the list, one endpoint with its actions, and the live charts fragment the
//! page refreshes every few seconds.
use super::{action_form, badge, json_text, short, when, PageCtx};
use crate::live::Series;
use crate::svg::{self, num, Line, Lines, XAxis};
use crate::views::endpoints::{EndpointRow, EndpointView, EndpointsView, LiveView};
use maud::{html, Markup};

fn state(e: &EndpointRow) -> Markup {
    if e.stopped {
        badge("stopped")
    } else if e.reachable {
        badge(e.status.as_deref().unwrap_or("running"))
    } else {
        badge("unreachable")
    }
}

pub fn list(v: &EndpointsView) -> Markup {
    html! {
        h1 { "Endpoints" }
        @if v.endpoints.is_empty() { p.empty { "No endpoint is known: endpoints started with sentio serve --home record themselves; --endpoint NAME=URL adds others." } }
        table #endpoints {
            thead { tr { th { "endpoint" } th { "address" } th { "state" } th { "variants" } th { "requests/s" } th { "since" } } }
            tbody {
                @for e in &v.endpoints {
                    tr data-endpoint=(e.name) {
                        td { a href=(format!("/endpoints/{}", e.name)) { (e.name) } }
                        td { code { (e.url) } }
                        td { (state(e)) @if let Some(err) = &e.error { " " span.error { (err) } } }
                        td { @for var in &e.variants { span.variant { (var.name) " (" (num(var.share * 100.0)) "%)" } } }
                        td data-live-rate=(e.name) { @if let Some(r) = e.requests_per_s { (num(r)) } @else { "–" } }
                        td { (e.started_at.as_deref().map(when).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn charts(s: &Series) -> Markup {
    let per_variant = |f: &dyn Fn(&crate::live::Point) -> Option<f64>, suffix: &str| -> Vec<Line> {
        s.variants
            .iter()
            .map(|(name, pts)| Line {
                name: format!("{name}{suffix}"),
                points: pts.iter().filter_map(|p| f(p).map(|y| (p.t, y))).collect(),
            })
            .collect()
    };
    let chart = |title: &'static str, y: &'static str, lines: Vec<Line>, y_max: Option<f64>| {
        svg::lines(&Lines {
            title,
            y_label: y,
            x: XAxis::Time,
            lines,
            y_zero: true,
            y_max,
        })
    };
    let mut latency = per_variant(&|p| p.p50_ms, " p50");
    latency.extend(per_variant(&|p| p.p99_ms, " p99"));
    let mut load = per_variant(&|p| p.mean_batch_size, " batch size");
    load.extend(per_variant(&|p| Some(p.queue_depth), " queue depth"));
    html! {
        div.charts {
            (chart("requests per second", "req/s", per_variant(&|p| Some(p.requests_per_s), ""), None))
            (chart("latency (model + overhead)", "ms", latency, None))
            (chart("error rate", "share", per_variant(&|p| Some(p.error_rate), ""), Some(0.05)))
            (chart("batch size and queue depth", "requests", load, None))
            (chart("shed requests per second", "req/s", vec![Line { name: "shed".into(), points: s.shed_per_s.clone() }], None))
        }
    }
}

/// The fragment behind `/endpoints/{name}/live`.
pub fn live(v: &LiveView) -> Markup {
    html! {
        @if let Some(e) = &v.error { p.error { (e) } }
        @if let Some(r) = v.series.total_requests_per_s { p.rate { "Now: " b data-rate { (num(r)) } " requests/s" } }
        @else { p.rate.muted { "Collecting samples (one every few seconds while this page is open)…" } }
        (charts(&v.series))
    }
}

pub fn detail(v: &EndpointView, ctx: &PageCtx) -> Markup {
    let e = &v.endpoint;
    let name = &e.name;
    html! {
        h1 { "Endpoint " (name) " " (state(e)) }
        p { "Address " code { (e.url) } @if let Some(s) = &e.started_at { " · started " (when(s)) } " · " a href=(format!("/monitoring/{name}")) { "monitoring" } }
        @if let Some(err) = &e.error { p.error { (err) } }
        h2 { "Variants" }
        table #variants {
            thead { tr { th { "variant" } th { "weight" } th { "share" } th { "model" } th { "reference" } th { "kind" } th { "healthy" } th { "deployed" } } }
            tbody {
                @for var in &e.variants {
                    tr data-variant=(var.name) data-weight=(var.weight) data-version=(var.model_version) {
                        td { (var.name) }
                        td.num { (num(var.weight)) }
                        td.num { (num(var.share * 100.0)) "%" }
                        td { @if let Some(r) = &var.registry { a href=(format!("/models/{}", r.version)) { (r.group) "/" (r.number) } } @else { code title=(var.model_version) { (short(&var.model_version)) } } }
                        td { code { (var.reference) } }
                        td { (var.kind) }
                        td { @if var.healthy { "yes" } @else { "no" } }
                        td { (when(&var.deployed_at)) }
                    }
                }
            }
        }
        @if e.reachable && !e.variants.is_empty() {
            div.actions {
                (action_form(ctx, &format!("/endpoints/{name}/weights"), "Set weights", "weights", html! {
                    @for var in &e.variants {
                        label { (var.name) " " input type="number" name=(format!("weight:{}", var.name)) value=(var.weight) min="0" step="any" aria-label=(format!("weight of {}", var.name)); }
                    }
                }))
                @if !v.deployable.is_empty() {
                    (action_form(ctx, &format!("/endpoints/{name}/deploy"), "Deploy", "deploy", html! {
                        label { "variant " select name="variant" { @for var in &e.variants { option value=(var.name) { (var.name) } } } }
                        label { "version " select name="version" { @for r in &v.deployable { option value=(r.version) { (r.group) "/" (r.number) } } } }
                    }))
                }
            }
        }
        h2 { "Live" }
        div #live data-refresh=(format!("/endpoints/{name}/live")) data-every="3000" {
            (live(&LiveView { endpoint: name.clone(), reachable: e.reachable, error: None, series: v.live.clone() }))
        }
        h2 { "Data capture" }
        @match &v.capture {
            None => p.muted { (v.management_error.as_deref().unwrap_or("not available")) },
            Some(c) if !c.configured => p { "Not configured (start the endpoint with --capture-dir)." },
            Some(c) => {
                p #capture { "Sampling " b { (c.sampling_percent.map(num).unwrap_or_default()) "%" } " · mode " (c.capture_mode.as_deref().unwrap_or("?")) " · counts " (json_text(&c.counts)) }
                (action_form(ctx, &format!("/endpoints/{name}/capture"), "Set sampling", "capture", html! {
                    label { "percent " input type="number" name="sampling_percent" min="0" max="100" step="any" value=(c.sampling_percent.unwrap_or(0.0)) aria-label="sampling percent"; }
                }))
            }
        }
        h2 { "Deployment history" }
        @if !v.management { p.muted { (v.management_error.as_deref().unwrap_or("")) } }
        table #history {
            thead { tr { th { "time" } th { "variant" } th { "action" } th { "reference" } th { "weight" } th { "outcome" } } }
            tbody {
                @for h in &v.history {
                    tr { td { (when(h["at"].as_str().unwrap_or(""))) } td { (json_text(&h["variant"])) } td { (json_text(&h["action"])) }
                         td { code { (json_text(&h["reference"])) } } td { (json_text(&h["weight"])) } td { (json_text(&h["outcome"])) } }
                }
            }
        }
    }
}
