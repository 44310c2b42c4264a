//! The home page.
use super::{badge, seconds, when};
use crate::svg::num;
use crate::views::home::HomeView;
use maud::{html, Markup};

pub fn page(v: &HomeView) -> Markup {
    html! {
        h1 { "Overview" }
        div.grid {
            section #executions {
                h2 { a href="/pipelines" { "Recent executions" } " (" (v.total_executions) ")" }
                @if v.executions.is_empty() { p.empty { "No pipeline has run in this home yet." } }
                table {
                    thead { tr { th { "execution" } th { "pipeline" } th { "status" } th { "started" } th { "duration" } } }
                    tbody {
                        @for e in &v.executions {
                            tr data-execution=(e.id) {
                                td { a href=(format!("/executions/{}", e.id)) { code { (e.id) } } }
                                td { (e.pipeline) }
                                td { (badge(&e.status)) }
                                td { (when(&e.started_at)) }
                                td { (seconds(e.duration_s)) }
                            }
                        }
                    }
                }
            }
            section #groups {
                h2 { a href="/registry" { "Model groups" } }
                @if v.groups.is_empty() { p.empty { "No model is registered yet." } }
                table {
                    thead { tr { th { "group" } th { "versions" } th { "pending" } th { "latest approved" } } }
                    tbody {
                        @for g in &v.groups {
                            tr data-group=(g.group) {
                                td { a href=(format!("/registry/{}", g.group)) { (g.group) } }
                                td { (g.versions) }
                                td { (g.pending) }
                                td {
                                    @if let Some(a) = &g.latest_approved {
                                        a href=(format!("/models/{}", a.version)) { (a.group) "/" (a.number) }
                                    } @else { "none" }
                                }
                            }
                        }
                    }
                }
            }
            section #endpoints {
                h2 { a href="/endpoints" { "Endpoints" } }
                @if v.endpoints.is_empty() { p.empty { "No endpoint is known: start one with sentio serve --home, or give --endpoint NAME=URL." } }
                table {
                    thead { tr { th { "endpoint" } th { "state" } th { "variants" } th { "requests/s" } } }
                    tbody {
                        @for e in &v.endpoints {
                            tr data-endpoint=(e.name) {
                                td { a href=(format!("/endpoints/{}", e.name)) { (e.name) } }
                                td { @if e.stopped { (badge("stopped")) } @else if e.reachable { (badge("running")) } @else { (badge("unreachable")) } }
                                td {
                                    @for var in &e.variants {
                                        span.variant { (var.name) " " (num(var.share * 100.0)) "% · "
                                            @if let Some(r) = &var.registry { (r.group) "/" (r.number) } @else { code { (super::short(&var.model_version)) } }
                                        }
                                    }
                                }
                                td data-live-rate=(e.name) { @if let Some(r) = e.requests_per_s { (num(r)) } @else { "–" } }
                            }
                        }
                    }
                }
            }
            section #violations {
                h2 { a href="/monitoring" { "Open drift violations" } }
                @if v.violations.is_empty() { p.empty { "None: the newest drift run of every series passed (or none ran)." } }
                ul {
                    @for o in &v.violations {
                        li.violation {
                            a href=(format!("/monitoring/{}", o.endpoint)) { (o.endpoint) " · " (o.series) }
                            " " (o.violation.check) " on " b { (o.violation.feature) } " (" (when(&o.at)) ")"
                        }
                    }
                }
            }
            section #experiments {
                h2 { a href="/experiments" { "Running experiments" } }
                @if v.experiments.is_empty() { p.empty { "No experiment is running." } }
                ul {
                    @for x in &v.experiments {
                        li { a href=(format!("/experiments/{}/{}", x.endpoint, x.id)) { (x.id) } " on " (x.endpoint) ": " (x.variants.join(" vs ")) }
                    }
                }
            }
        }
    }
}
