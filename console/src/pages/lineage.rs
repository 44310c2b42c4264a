//! The lineage of a version.
use super::{badge, json_text, short};
use crate::svg::dag;
use crate::views::lineage::LineageView;
use maud::{html, Markup};

pub fn page(v: &LineageView) -> Markup {
    let r = &v.version;
    html! {
        h1 { "Lineage of " a href=(format!("/models/{}", r.version)) { (r.group) "/" (r.number) } " " (badge(&r.status)) }
        (dag::render("lineage", "data → steps → artifacts → model → deployments", &v.graph))
        dl.facts {
            @if let Some(e) = &v.execution { dt { "execution" } dd { a href=(format!("/executions/{e}")) { code { (e) } } } }
            @if let Some(p) = &v.pipeline { dt { "pipeline" } dd { (p) } }
            @if let Some(t) = &v.trigger { dt { "trigger" } dd { (t) } }
            @if let Some(c) = &v.code_version { dt { "code" } dd { code { (c) } } }
            @if let Some(d) = &v.data_digest { dt { "data set" } dd { "sha256 " code title=(d) { (short(d)) } " · rows " (json_text(&v.data_rows)) } }
            @if let Some(a) = &v.architecture { dt { "architecture" } dd { (a) } }
        }
        h2 { "Parameters" }
        @if let Some(m) = v.parameters.as_object() {
            table.params { tbody { @for (k, x) in m { tr { th { (k) } td { code { (json_text(x)) } } } } } }
        }
        h2 { "Hyperparameters" }
        @if let Some(m) = v.hyperparameters.as_object() {
            table.params { tbody { @for (k, x) in m { tr { th { (k) } td { code { (json_text(x)) } } } } } }
        }
    }
}
