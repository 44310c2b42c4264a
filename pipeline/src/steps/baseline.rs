//! baseline: statistics of the model's inputs and outputs over the training split, for
//! the drift monitor, in Model Monitor's `statistics.json` / `constraints.json` layout
//! (`monitoring::baseline`). The texts are profiled exactly as the monitor profiles
//! captured traffic (`monitoring::profile`): tokens over the whole text, special tokens
//! included, named by the tokenizer.json vocabulary.
use super::{read_split, DeviceConfig, StepContext, StepOutcome};
use crate::error::Result;
use monitoring::baseline;
use monitoring::profile::{Current, Profiler};
use serde_json::json;

const CHUNK: usize = 256;

pub(super) fn run(ctx: &StepContext, cfg: &DeviceConfig) -> Result<StepOutcome> {
    let dev = cfg.resolve(ctx)?;
    let model_dir = ctx.input("model")?;
    let predictor = models::Predictor::load(model_dir, dev)?;
    let profiler = Profiler::load(model_dir).map_err(|e| ctx.fail(e.to_string()))?;
    let ds = read_split(ctx.input("train")?)?;
    let mut texts = Current::default();
    let mut predicted = Vec::with_capacity(ds.len());
    for chunk in ds.texts.chunks(CHUNK) {
        texts.add_texts(chunk, &profiler);
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let enc = predictor.encode(&refs)?;
        let seqs: Vec<&[i64]> = enc.iter().map(|e| e.ids.as_slice()).collect();
        for p in predictor.predict_encoded(&seqs)? {
            predicted.push(p?.label_index);
        }
    }
    let (stats, constraints) = baseline::from_profile(&texts, &predicted, predictor.labels());
    let out = ctx.output_dir("baseline")?;
    baseline::write(&out, &stats, &constraints).map_err(|e| ctx.fail(e.to_string()))?;
    ctx.log(format!(
        "baseline over {} training texts of model {}",
        ds.len(),
        predictor.version()
    ));
    Ok(StepOutcome {
        properties: json!({"item_count": ds.len(), "model_version": predictor.version()}),
        ..Default::default()
    })
}
