//! Model performance of a version, and the comparison with another.
use super::{badge, short, when};
use crate::svg::{self, Bars, Line, Lines, XAxis};
use crate::views::models::{ModelSide, ModelView};
use maud::{html, Markup};

fn side(m: &ModelSide, tag: &str) -> Markup {
    let v = &m.version;
    let curves = Lines {
        title: "training curves",
        y_label: "per epoch",
        x: XAxis::Number("epoch"),
        lines: vec![
            Line {
                name: "train loss".into(),
                points: m
                    .training
                    .iter()
                    .map(|e| (e.epoch as f64, e.train_loss))
                    .collect(),
            },
            Line {
                name: "validation macro-F1".into(),
                points: m
                    .training
                    .iter()
                    .map(|e| (e.epoch as f64, e.validation_macro_f1))
                    .collect(),
            },
            Line {
                name: "validation accuracy".into(),
                points: m
                    .training
                    .iter()
                    .map(|e| (e.epoch as f64, e.validation_accuracy))
                    .collect(),
            },
        ],
        y_zero: true,
        y_max: Some(1.0),
    };
    html! {
        section.model data-model=(tag) data-version=(v.version) {
            h2 { a href=(format!("/registry/{}", v.group)) { (v.group) } "/" (v.number) " " (badge(&v.status)) }
            p { code title=(v.version) { (short(&v.version)) } " · created " (when(&m.created_at))
                @if let Some(a) = &m.architecture { " · " (a) }
                @if let Some(b) = m.best_epoch { " · best epoch " (b) }
                " · " a href=(format!("/lineage/{}", v.version)) { "lineage" } }
            table.metrics { tbody { @for (k, x) in &m.metrics { tr { th { (k) } td.num { (format!("{x:.4}")) } } } } }
            @match &m.evaluation {
                None => p.empty { "This version's package has no evaluation file." },
                Some(e) => {
                    (svg::heatmap(&format!("confusion matrix (test split, n = {})", e.n), &e.confusion_matrix.labels, &e.confusion_matrix.matrix))
                    (svg::bars(&Bars {
                        title: "per-class precision, recall and F1",
                        y_label: "test split",
                        categories: e.per_class.iter().map(|c| c.label.clone()).collect(),
                        groups: vec![
                            ("precision".into(), e.per_class.iter().map(|c| c.precision).collect()),
                            ("recall".into(), e.per_class.iter().map(|c| c.recall).collect()),
                            ("F1".into(), e.per_class.iter().map(|c| c.f1).collect()),
                        ],
                        y_max: Some(1.0),
                    }))
                    table.per-class {
                        thead { tr { th { "class" } th { "precision" } th { "recall" } th { "F1" } th { "support" } } }
                        tbody { @for c in &e.per_class { tr { td { (c.label) } td.num { (format!("{:.3}", c.precision)) } td.num { (format!("{:.3}", c.recall)) } td.num { (format!("{:.3}", c.f1)) } td.num { (c.support) } } } }
                    }
                }
            }
            (svg::lines(&curves))
        }
    }
}

pub fn page(v: &ModelView) -> Markup {
    let m = &v.model.version;
    html! {
        h1 { "Model " (m.group) "/" (m.number) }
        form.compare method="get" action=(format!("/models/{}", m.version)) {
            label { "Compare with "
                select name="compare" {
                    option value="" { "—" }
                    @for o in v.group_versions.iter().filter(|o| o.version != m.version) {
                        option value=(o.version) selected[v.compare.as_ref().is_some_and(|c| c.version.version == o.version)] { (o.group) "/" (o.number) " (" (o.status) ")" }
                    }
                }
            }
            button type="submit" { "Compare" }
        }
        div.sides {
            (side(&v.model, "main"))
            @if let Some(c) = &v.compare { (side(c, "compare")) }
        }
        @if let Some(c) = &v.compare {
            h2 { "Side by side" }
            table #comparison {
                thead { tr { th { "metric" } th { (m.group) "/" (m.number) } th { (c.version.group) "/" (c.version.number) } th { "difference" } } }
                tbody {
                    @for (k, a) in &v.model.metrics {
                        @let b = c.metrics.get(k).copied();
                        tr { th { (k) } td.num { (format!("{a:.4}")) } td.num { (b.map(|b| format!("{b:.4}")).unwrap_or_default()) }
                             td.num { (b.map(|b| format!("{:+.4}", a - b)).unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}
