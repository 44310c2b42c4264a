//! The pages: one typed template (maud) per view over the same data its JSON carries, in
//! one layout. Assets come from `/assets/` only.
mod endpoints;
mod experiments;
mod home;
mod lineage;
mod models;
mod monitoring;
mod pipelines;
mod registry;

use crate::error::ConsoleError;
use crate::views::{Pagination, ViewData};
use maud::{html, Markup, DOCTYPE};

/// What every page needs besides its data.
#[derive(Debug, Clone)]
pub struct PageCtx {
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    /// The outcome of the action that led here.
    pub flash: Option<String>,
    /// Whether the console has an admin token (actions possible).
    pub actions_enabled: bool,
    /// The page's JSON.
    pub api: String,
}

const NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/pipelines", "Pipelines"),
    ("/registry", "Registry"),
    ("/endpoints", "Endpoints"),
    ("/monitoring", "Monitoring"),
    ("/experiments", "Experiments"),
];

/// The page of a view.
pub fn render(data: &ViewData, ctx: &PageCtx) -> String {
    let (title, body) = match data {
        ViewData::Home(v) => ("Home".to_string(), home::page(v)),
        ViewData::Pipelines(v) => ("Pipelines".to_string(), pipelines::list(v)),
        ViewData::Execution(v) => (
            format!("Execution {}", v.execution.id),
            pipelines::execution(v, ctx),
        ),
        ViewData::Registry(v) => ("Registry".to_string(), registry::list(v)),
        ViewData::Group(v) => (format!("Registry: {}", v.group), registry::group(v, ctx)),
        ViewData::Model(v) => (
            format!("Model {}/{}", v.model.version.group, v.model.version.number),
            models::page(v),
        ),
        ViewData::Lineage(v) => (
            format!("Lineage of {}/{}", v.version.group, v.version.number),
            lineage::page(v),
        ),
        ViewData::Endpoints(v) => ("Endpoints".to_string(), endpoints::list(v)),
        ViewData::Endpoint(v) => (
            format!("Endpoint {}", v.endpoint.name),
            endpoints::detail(v, ctx),
        ),
        // A fragment: the live charts an endpoint page refreshes.
        ViewData::Live(v) => return endpoints::live(v).into_string(),
        ViewData::Monitoring(v) => ("Monitoring".to_string(), monitoring::list(v)),
        ViewData::Monitor(v) => (format!("Monitoring {}", v.endpoint), monitoring::detail(v)),
        ViewData::Experiments(v) => ("Experiments".to_string(), experiments::list(v)),
        ViewData::Experiment(v) => (
            format!("Experiment {}", v.report.experiment.id),
            experiments::detail(v, ctx),
        ),
    };
    layout(&title, ctx, body).into_string()
}

pub fn error_page(e: &ConsoleError, ctx: &PageCtx) -> String {
    let status = e.status();
    let body = html! {
        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("error")) }
        p.error data-error=(e.kind()) { (e.public_message()) }
        p { a href="/" { "Back to the home page" } }
    };
    layout("Error", ctx, body).into_string()
}

fn layout(title: &str, ctx: &PageCtx, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sentio console" }
                link rel="icon" type="image/svg+xml" href="/assets/favicon.svg";
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "Sentio" }
                    nav { @for (href, label) in NAV { a href=(href) { (label) } } }
                    span.mode {
                        @if ctx.actions_enabled { "actions need the admin token" } @else { "read-only (no admin token configured)" }
                    }
                }
                main {
                    @if let Some(f) = &ctx.flash { p.flash role="status" { (f) } }
                    (body)
                }
                footer { "Scripts see the same data: " a.api href=(ctx.api) { (ctx.api) } " · " a href="/api/openapi.yaml" { "OpenAPI" } }
            }
        }
    }
}

/// A form for an action: the CSRF token, the fields, the admin token and a button. Without
/// an admin token configured, a note instead.
pub fn action_form(
    ctx: &PageCtx,
    action: &str,
    button: &str,
    name: &str,
    fields: Markup,
) -> Markup {
    if !ctx.actions_enabled {
        return html! { p.muted { "(" (button) ": start the console with --admin-token to act)" } };
    }
    html! {
        form.action method="post" action=(action) data-action=(name) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            (fields)
            input.token type="password" name="token" placeholder="admin token" autocomplete="off" aria-label="admin token";
            button type="submit" { (button) }
        }
    }
}

pub fn badge(status: &str) -> Markup {
    let class = status
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    html! { span class=(format!("badge {class}")) { (status) } }
}

/// A store time (RFC 3339) as `YYYY-MM-DD HH:MM:SS`.
pub fn when(t: &str) -> String {
    t.get(..19).unwrap_or(t).replace('T', " ")
}

pub fn seconds(s: Option<f64>) -> String {
    match s {
        None => "–".into(),
        Some(s) if s < 60.0 => format!("{s:.1} s"),
        Some(s) => format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0),
    }
}

pub fn short(digest: &str) -> String {
    digest
        .trim_start_matches("sha256-")
        .chars()
        .take(12)
        .collect()
}

pub fn pager(base: &str, p: &Pagination) -> Markup {
    html! {
        @if p.pages > 1 {
            nav.pager aria-label="pages" {
                @if p.page > 1 { a rel="prev" href=(format!("{base}?page={}", p.page - 1)) { "← newer" } }
                span { "page " (p.page) " of " (p.pages) " (" (p.total) ")" }
                @if p.page < p.pages { a rel="next" href=(format!("{base}?page={}", p.page + 1)) { "older →" } }
            }
        }
    }
}

/// A JSON value as compact text.
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "–".into(),
        other => other.to_string(),
    }
}
