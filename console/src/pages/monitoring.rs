//! Monitoring: drift over time per series, the newest run's features, quality per variant.
use super::{badge, when};
use crate::svg::{self, num, Bars, Line, Lines, Mark, XAxis};
use crate::views::monitoring::{DriftSeries, MonitorView, MonitoringView};
use crate::views::unix;
use maud::{html, Markup};

pub fn list(v: &MonitoringView) -> Markup {
    html! {
        h1 { "Monitoring" }
        @if v.endpoints.is_empty() { p.empty { "No endpoint is known." } }
        table #monitors {
            thead { tr { th { "endpoint" } th { "series" } th { "runs" } th { "newest run" } th { "status" } th { "violations" } th { "drift share" } } }
            tbody {
                @for m in &v.endpoints {
                    @if m.series.is_empty() {
                        tr data-endpoint=(m.endpoint) { td { a href=(format!("/monitoring/{}", m.endpoint)) { (m.endpoint) } } td colspan="6" { span.muted { "no drift reports yet" } } }
                    }
                    @for s in &m.series {
                        tr data-endpoint=(m.endpoint) data-series=(s.name) {
                            td { a href=(format!("/monitoring/{}", m.endpoint)) { (m.endpoint) } }
                            td { (s.name) }
                            td.num { (s.runs) }
                            @if let Some(l) = &s.latest {
                                td { (when(&l.at)) }
                                td { (badge(&l.status.to_string())) }
                                td.num { (l.violations.len()) }
                                td.num { (num(l.drift_share)) }
                            } @else { td colspan="4" {} }
                        }
                    }
                }
            }
        }
    }
}

fn series(s: &DriftSeries, i: usize) -> Markup {
    let points = |f: &dyn Fn(&crate::reports::RunSummary) -> f64| -> Vec<(f64, f64)> {
        s.runs
            .iter()
            .filter_map(|r| Some((unix(&r.at)?, f(r))))
            .collect()
    };
    let over_time = Lines {
        title: "drift over time",
        y_label: "PSI / share",
        x: XAxis::Time,
        lines: vec![
            Line {
                name: "largest PSI".into(),
                points: points(&|r| r.max_psi),
            },
            Line {
                name: "drifting share".into(),
                points: points(&|r| r.drift_share),
            },
        ],
        y_zero: true,
        y_max: Some(0.25),
    };
    let marks: Vec<Mark> = s
        .runs
        .iter()
        .filter(|r| !r.violations.is_empty())
        .filter_map(|r| {
            Some(Mark {
                t: unix(&r.at)?,
                label: format!("{}: {} violation(s)", when(&r.at), r.violations.len()),
                class: "violation",
            })
        })
        .collect();
    html! {
        section.series id=(format!("series-{i}")) data-series=(s.name) {
            h2 { (s.name) " " small { "(" (s.total_runs) " runs)" } }
            (svg::lines(&over_time))
            (svg::timeline("violations", &marks))
            @if let Some(l) = &s.latest {
                h3 { "Newest run, " (when(&l.at)) }
                table.features {
                    thead { tr { th { "feature" } th { "n" } th { "PSI" } th { "JS" } th { "test" } th { "statistic" } th { "p" } th { "severity" } th { "drift" } } }
                    tbody {
                        @for f in &l.features {
                            tr data-feature=(f.name) class=(if f.drift { "drift" } else { "" }) {
                                td { (f.name) } td.num { (f.count) } td.num { (format!("{:.4}", f.psi)) } td.num { (format!("{:.4}", f.js_distance)) }
                                td { (f.test.to_string()) } td.num { (format!("{:.3}", f.statistic)) } td.num { (format!("{:.2e}", f.p_value)) }
                                td { (f.severity.to_string()) } td { @if f.drift { "yes" } @else { "no" } }
                            }
                        }
                    }
                }
                @for f in &l.features {
                    (svg::bars(&Bars {
                        title: &format!("{}: baseline vs current", f.name),
                        y_label: "share",
                        categories: f.buckets.clone(),
                        groups: vec![("baseline".into(), shares(&f.baseline_counts)), ("current".into(), shares(&f.current_counts))],
                        y_max: None,
                    }))
                }
                @for u in &l.unchecked { p.muted { "not checked: " (u) } }
            }
        }
    }
}

fn shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .map(|c| if total > 0.0 { c / total } else { 0.0 })
        .collect()
}

pub fn detail(v: &MonitorView) -> Markup {
    html! {
        h1 { "Monitoring " a href=(format!("/endpoints/{}", v.endpoint)) { (v.endpoint) } }
        @if v.series.is_empty() { p.empty { "No drift report yet for this endpoint (its monitor writes monitoring_report.json under monitor/" (v.endpoint) "/)." } }
        @for (i, s) in v.series.iter().enumerate() { (series(s, i)) }
        h2 { "Model quality (ground truth)" }
        @match &v.quality {
            None => p.muted { "No feedback yet (POST /feedback to the endpoint with its state folder set)." },
            Some(q) => {
                p { (q.feedback_records) " feedback records; " (q.unknown_ids) " with unknown ids; " (q.unmatched_instances) " instances unmatched." }
                table #quality {
                    thead { tr { th { "variant" } th { "n" } th { "accuracy" } th { "balanced accuracy" } th { "macro-F1" } } }
                    tbody { @for (name, e) in &q.variants { tr data-variant=(name) { td { (name) } td.num { (e.n) } td.num { (format!("{:.3}", e.accuracy)) } td.num { (format!("{:.3}", e.balanced_accuracy)) } td.num { (format!("{:.3}", e.macro_f1)) } } } }
                }
            }
        }
    }
}
