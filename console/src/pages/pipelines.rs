//! Pipelines and executions.
use super::{action_form, badge, json_text, pager, seconds, short, when, PageCtx};
use crate::svg::dag;
use crate::views::pipelines::{ExecutionView, PipelinesView};
use maud::{html, Markup};

pub fn list(v: &PipelinesView) -> Markup {
    html! {
        h1 { "Pipelines" }
        @for (i, p) in v.pipelines.iter().enumerate() {
            section.pipeline data-pipeline=(p.name) {
                h2 { (p.name) }
                (dag::render(&format!("p{i}"), &format!("pipeline {}", p.name), &p.graph))
            }
        }
        section {
            h2 { "Executions" }
            table #executions {
                thead { tr { th { "execution" } th { "pipeline" } th { "status" } th { "trigger" } th { "started" } th { "duration" } th { "failure" } } }
                tbody {
                    @for e in &v.executions {
                        tr data-execution=(e.id) {
                            td { a href=(format!("/executions/{}", e.id)) { code { (e.id) } } }
                            td { (e.pipeline) }
                            td { (badge(&e.status)) }
                            td { (e.trigger) }
                            td { (when(&e.started_at)) }
                            td { (seconds(e.duration_s)) }
                            td { (e.failure_reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
            (pager("/pipelines", &v.pagination))
        }
    }
}

pub fn execution(v: &ExecutionView, ctx: &PageCtx) -> Markup {
    let e = &v.execution;
    html! {
        h1 { "Execution " code { (e.id) } " " (badge(&e.status)) }
        dl.facts {
            dt { "pipeline" } dd { (e.pipeline) }
            dt { "trigger" } dd { (e.trigger) }
            dt { "started" } dd { (when(&e.started_at)) }
            dt { "ended" } dd { (e.ended_at.as_deref().map(when).unwrap_or_else(|| "–".into())) }
            dt { "duration" } dd { (seconds(e.duration_s)) }
            dt { "code" } dd { code { (v.code_version) } }
            @if let Some(r) = &e.failure_reason { dt { "failure" } dd.error { (r) } }
            @if let Some(r) = &v.registered {
                dt { "registered" } dd {
                    a href=(format!("/models/{}", r.version)) { (r.group) "/" (r.number) } " (" (r.status) ") · "
                    a href=(format!("/lineage/{}", r.version)) { "lineage" }
                }
            }
        }
        (dag::render("exec", &format!("execution {}", e.id), &v.graph))
        div.actions {
            (action_form(ctx, &format!("/executions/{}/rerun", e.id), "Re-run with the same parameters", "rerun", html! {}))
            @if v.can_resume {
                (action_form(ctx, &format!("/executions/{}/resume", e.id), "Resume", "resume", html! {}))
            }
        }
        h2 { "Parameters" }
        table.params { tbody { @for (k, val) in &v.parameters { tr { th { (k) } td { code { (val) } } } } } }
        h2 { "Steps" }
        @for s in &v.steps {
            section.step id=(format!("step-{}", s.name)) data-step=(s.name) data-status=(s.status) {
                h3 { (s.name) " " small { "(" (s.kind) ")" } " " (badge(&s.status)) " " small { (seconds(s.duration_s)) } }
                @if let Some(d) = &s.cache_decision { p.cache { "cache: " (d) } }
                @if let Some(c) = &s.cached_from { p.cache { "outputs reused from " a href=(format!("/executions/{c}")) { (c) } } }
                @if let Some(r) = &s.failure_reason { p.error { (r) } }
                div.io {
                    @if !s.inputs.is_empty() {
                        div { b { "inputs" } ul { @for d in &s.inputs { li { (d.name) ": " code title=(d.digest) { (short(&d.digest)) } } } } }
                    }
                    @if !s.outputs.is_empty() {
                        div { b { "outputs" } ul { @for d in &s.outputs { li { (d.name) ": " code title=(d.digest) { (short(&d.digest)) } } } } }
                    }
                    @if let Some(props) = s.properties.as_object().filter(|m| !m.is_empty()) {
                        div { b { "properties" } ul { @for (k, p) in props { li { (k) ": " (json_text(p)) } } } }
                    }
                }
                @if !s.log.is_empty() { details { summary { "log" } pre.log { (s.log) } } }
            }
        }
    }
}
