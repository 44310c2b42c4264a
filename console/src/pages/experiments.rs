//! Experiments: the list and one report with its intervals, verdict and promote button.
use super::{action_form, badge, when, PageCtx};
use crate::svg::{self, num, Interval};
use crate::views::experiments::{ExperimentView, ExperimentsView};
use maud::{html, Markup};
use monitoring::experiment::Verdict;

pub fn list(v: &ExperimentsView) -> Markup {
    html! {
        h1 { "Experiments" }
        @if v.experiments.is_empty() { p.empty { "No experiment is recorded (sentio experiment create)." } }
        table #experiments {
            thead { tr { th { "experiment" } th { "endpoint" } th { "variants" } th { "status" } th { "started" } th { "winner" } } }
            tbody {
                @for x in &v.experiments {
                    tr data-experiment=(x.id) {
                        td { a href=(format!("/experiments/{}/{}", x.endpoint, x.id)) { (x.id) } }
                        td { (x.endpoint) }
                        td { (x.variants.join(" vs ")) @if let Some(s) = &x.shadow { " (shadow " (s) ")" } }
                        td { (badge(&x.status)) }
                        td { (when(&x.started_at)) }
                        td { (x.winner.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

pub fn detail(v: &ExperimentView, ctx: &PageCtx) -> Markup {
    let r = &v.report;
    let x = &r.experiment;
    let rows: Vec<Interval> = r
        .variants
        .iter()
        .filter_map(|(name, vr)| {
            let (lo, hi) = vr.accuracy_ci95?;
            Some(Interval {
                label: name.clone(),
                value: vr.accuracy?,
                lo,
                hi,
            })
        })
        .collect();
    let verdict = match &r.verdict {
        Verdict::Winner { variant } => format!("{variant} wins (p = {:.3})", r.p_value),
        Verdict::NoSignificantDifference => {
            format!("no significant difference (p = {:.3})", r.p_value)
        }
        Verdict::NotEnoughData {
            needed_per_variant,
            have_min,
        } => {
            format!("not enough data: {needed_per_variant} labelled instances needed per variant, the smallest has {have_min}")
        }
    };
    html! {
        h1 { "Experiment " (x.id) " " (badge(&x.status)) }
        p { "Endpoint " a href=(format!("/endpoints/{}", v.endpoint)) { (v.endpoint) } " · goal " (x.goal_metric) " · started " (when(&x.started_at.to_rfc3339()))
            " · report from " (v.source) }
        p #verdict.verdict { b { "Verdict: " } (verdict) }
        @if let Some(n) = v.still_needed_per_variant { p { "Still needed: " b { (n) } " labelled instances per variant." } }
        (svg::intervals(&format!("{} with 95% intervals", x.goal_metric), &rows))
        table #variants {
            thead { tr { th { "variant" } th { "requests" } th { "failed" } th { "labelled" } th { "accuracy" } th { "95% interval" } th { "p50 ms" } th { "p99 ms" } } }
            tbody {
                @for (name, vr) in &r.variants {
                    tr data-variant=(name) {
                        td { (name) } td.num { (vr.requests) } td.num { (vr.failed) } td.num { (vr.labelled) }
                        td.num { (vr.accuracy.map(|a| format!("{a:.3}")).unwrap_or_else(|| "–".into())) }
                        td { (vr.accuracy_ci95.map(|(l, h)| format!("[{l:.3}, {h:.3}]")).unwrap_or_default()) }
                        td.num { (vr.latency_ms.get("p50").map(|x| num(*x)).unwrap_or_default()) }
                        td.num { (vr.latency_ms.get("p99").map(|x| num(*x)).unwrap_or_default()) }
                    }
                }
            }
        }
        @if x.status == "running" {
            (action_form(ctx, &format!("/experiments/{}/{}/promote", v.endpoint, x.id), "Promote", "promote", html! {
                label { "winner " select name="winner" {
                    @for name in &x.variants { option value=(name) selected[v.suggested_winner.as_deref() == Some(name.as_str())] { (name) } }
                } }
            }))
        } @else if let Some(w) = &x.winner { p { "Promoted " b { (w) } "." } }
    }
}
