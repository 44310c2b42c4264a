//! The registry.
use super::{action_form, badge, pager, short, when, PageCtx};
use crate::svg::{self, num, Line, Lines, Mark, XAxis};
use crate::views::registry::{GroupView, RegistryView};
use crate::views::unix;
use maud::{html, Markup};

pub fn list(v: &RegistryView) -> Markup {
    html! {
        h1 { "Model registry" }
        @if v.groups.is_empty() { p.empty { "No model is registered yet: a pipeline's register step adds versions." } }
        table #groups {
            thead { tr { th { "model package group" } th { "versions" } th { "pending approval" } th { "latest" } th { "latest approved" } } }
            tbody {
                @for g in &v.groups {
                    tr data-group=(g.group) {
                        td { a href=(format!("/registry/{}", g.group)) { (g.group) } }
                        td { (g.versions) }
                        td { (g.pending) }
                        td { a href=(format!("/models/{}", g.latest.version)) { (g.latest.number) } " " (badge(&g.latest.status)) }
                        td { @if let Some(a) = &g.latest_approved { a href=(format!("/models/{}", a.version)) { (a.number) } } @else { "none" } }
                    }
                }
            }
        }
    }
}

fn class_of(event: &str) -> &'static str {
    match event {
        "approved" => "approved",
        "rejected" => "rejected",
        "deployed" => "deployed",
        _ => "registered",
    }
}

pub fn group(v: &GroupView, ctx: &PageCtx) -> Markup {
    let trend = Lines {
        title: "metrics by version",
        y_label: "test split",
        x: XAxis::Number("version"),
        lines: v
            .trend
            .iter()
            .map(|(k, pts)| Line {
                name: k.clone(),
                points: pts.iter().map(|(n, x)| (*n as f64, *x)).collect(),
            })
            .collect(),
        y_zero: false,
        y_max: Some(1.0),
    };
    let marks: Vec<Mark> = v
        .history
        .iter()
        .filter_map(|e| {
            Some(Mark {
                t: unix(&e.at)?,
                label: format!(
                    "{} {} {}{}",
                    when(&e.at),
                    e.number.map(|n| format!("#{n}")).unwrap_or_default(),
                    e.event,
                    e.endpoint
                        .as_deref()
                        .map(|ep| format!(" to {ep}/{}", e.variant.as_deref().unwrap_or("?")))
                        .unwrap_or_default()
                ),
                class: class_of(&e.event),
            })
        })
        .collect();
    let base = format!("/registry/{}", v.group);
    html! {
        h1 { "Group " (v.group) }
        (svg::lines(&trend))
        h2 { "Versions" }
        table #versions {
            thead {
                tr {
                    th { "#" } th { "version" } th { "status" } th { "created" }
                    @for m in &v.metric_names { th { (m) } }
                    th { "deployed to" } th { "notes" } th { "decide" }
                }
            }
            tbody {
                @for r in &v.versions {
                    tr data-version=(r.version.version) data-number=(r.version.number) data-status=(r.version.status) {
                        td { (r.version.number) }
                        td { a href=(format!("/models/{}", r.version.version)) { code title=(r.version.version) { (short(&r.version.version)) } } " "
                             a.small href=(format!("/lineage/{}", r.version.version)) { "lineage" } }
                        td { (badge(&r.version.status)) }
                        td { (when(&r.created_at)) }
                        @for m in &v.metric_names { td.num { (r.metrics.get(m).map(|x| format!("{x:.3}")).unwrap_or_default()) } }
                        td { (r.deployed_to.join(", ")) }
                        td { @for n in &r.notes { div.note { (n.event) " by " (n.actor) @if !n.note.is_empty() { ": " (n.note) } } } }
                        td {
                            @if r.version.status == "PendingManualApproval" {
                                (action_form(ctx, &format!("/registry/versions/{}/approve", r.version.version), "Approve", "approve",
                                    html! { input type="text" name="note" placeholder="note" aria-label="note"; }))
                                (action_form(ctx, &format!("/registry/versions/{}/reject", r.version.version), "Reject", "reject",
                                    html! { input type="text" name="note" placeholder="note" aria-label="note"; }))
                            } @else if r.version.status == "Approved" {
                                (action_form(ctx, &format!("/registry/versions/{}/reject", r.version.version), "Revoke", "reject",
                                    html! { input type="text" name="note" placeholder="why" aria-label="note"; }))
                            }
                        }
                    }
                }
            }
        }
        (pager(&base, &v.pagination))
        h2 { "History" }
        (svg::timeline("registry history", &marks))
        form.at method="get" action=(base) {
            label { "State at (UTC) " input type="text" name="at" placeholder="2025-01-31 12:00" value=(if v.at_given { v.state.at.clone() } else { String::new() }); }
            button type="submit" { "Show" }
        }
        section #state {
            h3 { "At " (when(&v.state.at)) }
            p { "Latest approved: "
                @if let Some(a) = &v.state.latest_approved { a href=(format!("/models/{}", a.version)) { (a.group) "/" (a.number) } } @else { "none" }
                ". Approved then: " (v.state.approved.iter().map(|n| format!("#{n}")).collect::<Vec<_>>().join(", ")) }
            @if !v.state.deployments.is_empty() {
                ul { @for d in &v.state.deployments { li { (d.target) ": " @if let Some(n) = d.number { "#" (n) } @else { code { (short(&d.version)) } } " since " (when(&d.at)) } } }
            }
        }
        table #history {
            thead { tr { th { "time" } th { "version" } th { "event" } th { "status" } th { "by" } th { "note" } } }
            tbody {
                @for e in v.history.iter().rev().take(50) {
                    tr {
                        td { (when(&e.at)) }
                        td { @if let Some(n) = e.number { "#" (n) } }
                        td { (e.event) @if let Some(ep) = &e.endpoint { " to " (ep) "/" (e.variant.as_deref().unwrap_or("?")) } }
                        td { (e.from_status.as_deref().unwrap_or("")) " → " (e.to_status.as_deref().unwrap_or("")) }
                        td { (e.actor) }
                        td { (e.note) }
                    }
                }
            }
        }
        p.muted { (num(v.history.len() as f64)) " events shown (the newest 200)." }
    }
}
