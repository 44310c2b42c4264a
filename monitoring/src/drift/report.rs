//! Writing a run's outputs: `constraint_violations.json`, `monitoring_report.json` and a
//! self-contained `report.html` (inline CSS and SVG, no scripts, nothing fetched): a
//! header naming what was judged (endpoint, variant, model version, baseline, window),
//! the violations, a table and a PSI chart of every feature, and each feature's baseline
//! and current histograms with axes, ticks and printed shares.
use super::check::{CheckResult, FeatureDrift, Violation};
use crate::files::{write_bytes, write_json};
use crate::MonitoringError;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup, DOCTYPE};
use models::report::chart::{bar_chart, BarChart, BarSeries, PALETTE};
use models::report::{context_list, STYLE};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `constraint_violations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintViolations {
    pub violations: Vec<Violation>,
}

/// What a report judges, for its header.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportContext {
    /// The endpoint whose capture was read (from the capture folder's name).
    pub endpoint: Option<String>,
    /// The variant judged (None: every variant of the capture folder together).
    pub variant: Option<String>,
    /// The model version the baseline belongs to (None: not known).
    pub model_version: Option<String>,
    /// The baseline folder (`statistics.json`, `constraints.json`).
    pub baseline: PathBuf,
    pub capture_dir: PathBuf,
    /// Records from this time on (None: everything captured) …
    pub window_from: Option<DateTime<Utc>>,
    /// … up to the run's time.
    pub window_to: DateTime<Utc>,
}

impl ReportContext {
    /// The endpoint and variant a capture folder holds: `capture/<endpoint>/` holds variant
    /// folders, `capture/<endpoint>/<variant>/` holds year folders directly.
    pub fn of_capture_dir(dir: &Path) -> (Option<String>, Option<String>) {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let is_year = |n: &str| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit());
        let holds_years = std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().is_dir() && is_year(&e.file_name().to_string_lossy()))
        });
        if holds_years {
            (dir.parent().and_then(name), name(dir))
        } else {
            (name(dir), None)
        }
    }

    fn rows(&self) -> Vec<(String, String)> {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let window = match &self.window_from {
            Some(from) => format!("{} to {}", time(from), time(&self.window_to)),
            None => format!("everything captured up to {}", time(&self.window_to)),
        };
        vec![
            (
                "endpoint".into(),
                self.endpoint.clone().unwrap_or_else(|| "unknown".into()),
            ),
            (
                "variant".into(),
                self.variant
                    .clone()
                    .unwrap_or_else(|| "all variants together".into()),
            ),
            (
                "model version".into(),
                self.model_version
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            ),
            ("baseline".into(), self.baseline.display().to_string()),
            ("window".into(), window),
            ("capture".into(), self.capture_dir.display().to_string()),
        ]
    }
}

/// Writes the three files into `out` (created if needed).
pub fn write_outputs(
    out: &Path,
    result: &CheckResult,
    context: &ReportContext,
) -> Result<(), MonitoringError> {
    let violations = ConstraintViolations {
        violations: result.violations.clone(),
    };
    write_json(&out.join("constraint_violations.json"), &violations)?;
    write_json(&out.join("monitoring_report.json"), result)?;
    write_bytes(&out.join("report.html"), html(result, context).as_bytes())
}

/// A titled list of `feature kind: text` items; nothing when there are none.
fn section<'a>(title: &str, items: impl Iterator<Item = (&'a str, String, &'a str)>) -> Markup {
    let items: Vec<_> = items.collect();
    html! {
        @if !items.is_empty() {
            h2 { (title) }
            ul {
                @for (feature, kind, text) in &items {
                    li { b { (feature) } (kind) ": " (text) }
                }
            }
        }
    }
}

/// The HTML report.
pub fn html(r: &CheckResult, context: &ReportContext) -> String {
    let violations = r.violations.iter().map(|v| {
        (
            v.feature_name.as_str(),
            format!(" {}", v.constraint_check_type),
            v.description.as_str(),
        )
    });
    let unchecked = r
        .unchecked_features
        .iter()
        .map(|u| (u.feature_name.as_str(), String::new(), u.reason.as_str()));
    let judged = match (&context.variant, &context.model_version) {
        (Some(v), Some(m)) => format!(" — {v}, {m}"),
        (Some(v), None) => format!(" — {v}"),
        (None, Some(m)) => format!(" — {m}"),
        (None, None) => String::new(),
    };
    let title = format!(
        "Drift report: {}{judged}",
        context.endpoint.as_deref().unwrap_or("endpoint")
    );
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (STYLE) }
            }
            body {
                h1 { (title) }
                (context_list(&context.rows()))
                p id="status" {
                    "Status: " b { (r.status) } ". " (r.records) " records (minimum "
                    (r.min_samples) "), per-feature α after Bonferroni "
                    (format!("{:.2e}", r.bonferroni_alpha)) "; " (r.violations.len())
                    " violation(s); " (format!("{:.0}%", r.drift_share * 100.0))
                    " of the features drift."
                }
                (section("Violations", violations))
                (section("Not checked", unchecked))
                @if !r.features.is_empty() {
                    h2 { "Features" }
                    table id="features" {
                        tr {
                            th.name { "feature" } th { "n" } th { "PSI" } th { "JS" } th { "test" }
                            th { "statistic" } th { "p" } th { "severity" }
                        }
                        @for f in &r.features {
                            tr {
                                td.name { (f.name) } td { (f.count) }
                                td { (format!("{:.4}", f.psi)) } td { (format!("{:.4}", f.js_distance)) }
                                td { (f.test) } td { (format!("{:.4}", f.statistic)) }
                                td { (format!("{:.2e}", f.p_value)) }
                                td class=[f.drift.then_some("drift")] { (f.severity) }
                            }
                        }
                    }
                    (bar_chart(&psi_chart(r)))
                    h2 { "Distributions: baseline and current" }
                    @for (i, f) in r.features.iter().enumerate() {
                        (bar_chart(&histogram(i, f)))
                    }
                }
            }
        }
    };
    page.into_string()
}

/// PSI of every feature.
fn psi_chart(r: &CheckResult) -> BarChart {
    BarChart {
        id: "psi".into(),
        title: "Population stability index per feature (0.1 moderate, 0.25 major)".into(),
        x_label: "feature".into(),
        y_label: "PSI".into(),
        categories: r.features.iter().map(|f| f.name.clone()).collect(),
        series: vec![BarSeries {
            name: "PSI".into(),
            colour: PALETTE[3].into(),
            values: r.features.iter().map(|f| f.psi).collect(),
        }],
        percent: false,
        y_max: None,
    }
}

/// A feature's baseline and current shares per bucket (at most 40 buckets).
fn histogram(i: usize, f: &FeatureDrift) -> BarChart {
    const MAX_BARS: usize = 40;
    let n = f.buckets.len().min(MAX_BARS);
    let share = |v: &[f64]| {
        let t: f64 = v.iter().sum();
        v.iter()
            .take(n)
            .map(|x| if t > 0.0 { x / t } else { 0.0 })
            .collect::<Vec<_>>()
    };
    let cut = if f.buckets.len() > n {
        format!(" (first {n} of {} buckets)", f.buckets.len())
    } else {
        String::new()
    };
    BarChart {
        id: format!("histogram-{i}"),
        title: format!(
            "{}: PSI {:.3}, JS {:.3}, p {:.2e}{}{cut}",
            f.name,
            f.psi,
            f.js_distance,
            f.p_value,
            if f.drift { " — drift" } else { "" }
        ),
        x_label: format!("{} bucket", f.name),
        y_label: "share of values".into(),
        categories: f.buckets.iter().take(n).cloned().collect(),
        series: vec![
            BarSeries {
                name: "baseline".into(),
                colour: PALETTE[0].into(),
                values: share(&f.baseline_counts),
            },
            BarSeries {
                name: "current".into(),
                colour: PALETTE[1].into(),
                values: share(&f.current_counts),
            },
        ],
        percent: true,
        y_max: None,
    }
}
