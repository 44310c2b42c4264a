//! `evaluation.html` of a model: [`models::report::evaluation_html`] with the training
//! curves of the model's `metadata.json` (`training.history`, one [`EpochRecord`] per
//! epoch) and a header naming the model and the data.
use crate::metrics::Evaluation;
use crate::trainer::EpochRecord;
use models::report::chart::{LineChart, Series, PALETTE};
use models::report::{evaluation_html, EvaluationPage};
use serde_json::Value;

/// Loss and validation metrics per epoch, as two charts.
pub fn curves(history: &[EpochRecord]) -> Vec<LineChart> {
    let line = |name: &str, i: usize, dash: Option<&str>, f: fn(&EpochRecord) -> f64| Series {
        name: name.into(),
        colour: PALETTE[i].into(),
        dash: dash.map(str::to_string),
        points: history.iter().map(|r| (r.epoch as f64, f(r))).collect(),
        markers: true,
    };
    let mut loss = vec![line("training loss", 0, None, |r| r.train_loss)];
    if history.iter().any(|r| r.validation_loss > 0.0) {
        loss.push(line("validation loss", 1, Some("6 3"), |r| {
            r.validation_loss
        }));
    }
    let metrics = vec![
        line("macro-F1", 2, None, |r| r.validation_macro_f1),
        line("accuracy", 0, Some("6 3"), |r| r.validation_accuracy),
        line("balanced accuracy", 4, Some("2 3"), |r| {
            r.validation_balanced_accuracy
        }),
    ];
    let chart = |id: &str, title: &str, y: &str, series, y_range| LineChart {
        id: id.into(),
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y.into(),
        series,
        x_range: None,
        y_range,
        integer_x: true,
        width: None,
    };
    vec![
        chart(
            "loss-curve",
            "Loss per epoch",
            "mean cross-entropy",
            loss,
            None,
        ),
        chart(
            "validation-curve",
            "Validation metrics per epoch",
            "score",
            metrics,
            Some((0.0, 1.0)),
        ),
    ]
}

/// The training history recorded in a model's metadata, if any.
pub fn history(metadata: &Value) -> Option<Vec<EpochRecord>> {
    serde_json::from_value(metadata.pointer("/training/history")?.clone()).ok()
}

/// The page of `evaluation` of the model whose metadata is `metadata` (training curves and
/// context from it), with `context` rows first (model version, split, …).
pub fn evaluation_page(
    evaluation: &Evaluation,
    metadata: Option<&Value>,
    mut context: Vec<(String, String)>,
) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(m) = metadata {
        for (name, pointer) in [
            ("architecture", "/architecture"),
            ("training data", "/data/path"),
            ("data digest", "/data/digest"),
            ("best epoch", "/training/best_epoch"),
            ("device", "/device"),
        ] {
            if let Some(v) = m.pointer(pointer).filter(|v| !v.is_null()) {
                context.push((name.into(), text(v)));
            }
        }
    }
    let history = metadata.and_then(history).unwrap_or_default();
    let page = EvaluationPage {
        title: "Sentio evaluation".into(),
        context,
        evaluation,
        curves: if history.is_empty() {
            Vec::new()
        } else {
            curves(&history)
        },
        no_curves: Some(
            if metadata.is_some() {
                "The model's metadata records no training history."
            } else {
                "No model metadata was given, so no training curves."
            }
            .into(),
        ),
    };
    evaluation_html(&page)
}
