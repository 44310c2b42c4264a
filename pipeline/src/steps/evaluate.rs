//! evaluate: the model's metrics on the test split, as `evaluation.json`
//! (`{"metrics": {"balanced_accuracy": {"value": …}, …}}`) and `evaluation.html` beside it.
use super::{read_split, write_json, DeviceConfig, StepContext, StepOutcome};
use crate::error::{PipelineError, Result};
use models::artifact;
use serde_json::json;

pub(super) fn run(ctx: &StepContext, cfg: &DeviceConfig) -> Result<StepOutcome> {
    let dev = cfg.resolve(ctx)?;
    let art = models::Artifact::open(ctx.input("model")?)?;
    let model = models::Model::load(&art, dev)?;
    let test = read_split(ctx.input("test")?)?;
    if test.is_empty() {
        return Err(ctx.fail("the test split is empty: raise test_share or use more data"));
    }
    let e = train::evaluate_model(&model, &test)?;
    let mut doc = e.to_json();
    doc["model_version"] = json!(art.version());
    doc["split"] = json!("test");
    let out = ctx.output_dir("evaluation")?;
    write_json(&out.join(artifact::EVALUATION), &doc)?;
    let context = vec![
        ("model version".to_string(), art.version()),
        (
            "evaluated on".to_string(),
            format!("the test split ({} rows)", e.n),
        ),
    ];
    let meta = art.read_json(artifact::METADATA)?;
    let page = train::report::evaluation_page(&e, meta.as_ref(), context);
    let html = out.join(artifact::EVALUATION_HTML);
    std::fs::write(&html, page).map_err(|err| PipelineError::io(&html, err))?;
    ctx.log(format!(
        "test split ({} rows): accuracy {:.4}, balanced accuracy {:.4}, macro-F1 {:.4}",
        e.n, e.accuracy, e.balanced_accuracy, e.macro_f1
    ));
    Ok(StepOutcome {
        properties: json!({"accuracy": e.accuracy, "balanced_accuracy": e.balanced_accuracy, "macro_f1": e.macro_f1, "n": e.n}),
        ..Default::default()
    })
}
