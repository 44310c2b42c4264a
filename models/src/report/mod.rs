//! Self-contained HTML reports: the chart primitives (also used by `monitoring`'s drift
//! report) and the evaluation page written beside `evaluation.json`.
pub mod chart;
pub mod evaluation;

pub use evaluation::{context_list, evaluation_html, EvaluationPage, STYLE};
