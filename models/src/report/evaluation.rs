//! `evaluation.html`: one self-contained page (inline CSS and SVG, no scripts, nothing
//! fetched) with an evaluation's summary, the confusion matrix as a heat map, the
//! per-class precision/recall/F1 table and chart, the training curves and the
//! reliability diagram.
use super::chart::{
    bar_chart, heat_map, line_chart, BarChart, BarSeries, LineChart, Series, PALETTE,
};
use crate::metrics::{Calibration, Evaluation};
use maud::{html, Markup, DOCTYPE};

/// Styles shared by Sentio's HTML reports.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\
th{background:#f4f4f4}td.name,th.name{text-align:left}dl.context{display:grid;grid-template-columns:max-content auto;gap:2px 16px}\
dl.context dt{font-weight:bold}dl.context dd{margin:0;font-family:monospace}\
svg.chart{display:block;margin:.6em 0;max-width:100%;height:auto}.note{color:#555}\
.drift{color:#b00;font-weight:bold}";

/// What the page shows.
pub struct EvaluationPage<'a> {
    pub title: String,
    /// `(name, value)` rows naming what was evaluated: model version, data split, …
    pub context: Vec<(String, String)>,
    pub evaluation: &'a Evaluation,
    /// Training curves (loss, validation metrics per epoch); empty when unknown.
    pub curves: Vec<LineChart>,
    /// Why there are no curves (e.g. "the model's metadata has no training history").
    pub no_curves: Option<String>,
}

/// A `<dl>` of `(name, value)` rows, for the header of a report.
pub fn context_list(rows: &[(String, String)]) -> Markup {
    html! {
        dl.context {
            @for (k, v) in rows {
                dt { (k) }
                dd { (v) }
            }
        }
    }
}

/// The page's HTML.
pub fn evaluation_html(p: &EvaluationPage<'_>) -> String {
    let e = p.evaluation;
    let metrics = [
        ("accuracy", e.accuracy),
        ("balanced accuracy", e.balanced_accuracy),
        ("macro-F1", e.macro_f1),
    ];
    let per_class = BarChart {
        id: "per-class".into(),
        title: "Per-class precision, recall and F1".into(),
        x_label: "class".into(),
        y_label: "score".into(),
        categories: e.labels.clone(),
        series: [("precision", 0), ("recall", 1), ("F1", 2)]
            .iter()
            .enumerate()
            .map(|(i, &(name, m))| BarSeries {
                name: name.into(),
                colour: PALETTE[i].into(),
                values: e
                    .per_class
                    .iter()
                    .map(|c| [c.precision, c.recall, c.f1][m])
                    .collect(),
            })
            .collect(),
        percent: false,
        y_max: Some(1.0),
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (p.title) }
                style { (STYLE) }
            }
            body {
                h1 { (p.title) }
                (context_list(&p.context))
                h2 { "Summary" }
                table id="summary" {
                    tr { th.name { "metric" } th { "value" } }
                    @for (name, v) in metrics {
                        tr { td.name { (name) } td { (format!("{v:.4}")) } }
                    }
                    tr { td.name { "instances" } td { (e.n) } }
                    @if let Some(c) = &e.calibration {
                        tr { td.name { "expected calibration error" }
                             td { (format!("{:.4}", c.expected_calibration_error)) } }
                    }
                }
                h2 { "Confusion matrix" }
                (heat_map("confusion-matrix", "Counts and share of each true class",
                    &e.labels, &e.confusion_matrix, "true class", "predicted class"))
                h2 { "Per-class metrics" }
                table id="per-class-table" {
                    tr { th.name { "class" } th { "precision" } th { "recall" } th { "F1" } th { "support" } }
                    @for c in &e.per_class {
                        tr {
                            td.name { (c.label) }
                            td { (format!("{:.4}", c.precision)) }
                            td { (format!("{:.4}", c.recall)) }
                            td { (format!("{:.4}", c.f1)) }
                            td { (c.support) }
                        }
                    }
                }
                (bar_chart(&per_class))
                h2 { "Training curves" }
                @if p.curves.is_empty() {
                    p.note { (p.no_curves.as_deref().unwrap_or("No training history was recorded.")) }
                }
                @for c in &p.curves { (line_chart(c)) }
                h2 { "Calibration" }
                @match &e.calibration {
                    Some(c) => { (reliability(c)) }
                    None => {
                        p.note { "This evaluation carries no predicted probabilities, so no reliability diagram." }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// The reliability diagram (mean confidence against accuracy per bin, with the diagonal of
/// perfect calibration) and how many predictions fall in each bin.
fn reliability(c: &Calibration) -> Markup {
    let used: Vec<_> = c.bins.iter().filter(|b| b.count > 0).collect();
    let diagram = LineChart {
        id: "reliability".into(),
        title: format!(
            "Reliability diagram (expected calibration error {:.4})",
            c.expected_calibration_error
        ),
        x_label: "confidence (top-class probability)".into(),
        y_label: "accuracy".into(),
        series: vec![
            Series {
                name: "perfect calibration".into(),
                colour: PALETTE[7].into(),
                dash: Some("6 4".into()),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                markers: false,
            },
            Series {
                name: "model".into(),
                colour: PALETTE[0].into(),
                dash: None,
                points: used
                    .iter()
                    .map(|b| (b.mean_confidence, b.accuracy))
                    .collect(),
                markers: true,
            },
        ],
        x_range: Some((0.0, 1.0)),
        y_range: Some((0.0, 1.0)),
        integer_x: false,
        width: Some(420.0),
    };
    let counts = BarChart {
        id: "confidence-histogram".into(),
        title: "Predictions per confidence bin".into(),
        x_label: "confidence bin".into(),
        y_label: "predictions".into(),
        categories: c
            .bins
            .iter()
            .map(|b| format!("{:.1}–{:.1}", b.lower, b.upper))
            .collect(),
        series: vec![BarSeries {
            name: "predictions".into(),
            colour: PALETTE[0].into(),
            values: c.bins.iter().map(|b| b.count as f64).collect(),
        }],
        percent: false,
        y_max: None,
    };
    html! { (line_chart(&diagram)) (bar_chart(&counts)) }
}
