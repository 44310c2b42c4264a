//! process: a seeded, stratified train/validation/test split of the validated dataset.
//! Its configuration is [`train::SplitConfig`] (`validation`, `test`, `seed`).
use super::{read_split, write_split, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::json;
use train::SplitConfig;

pub(super) fn run(ctx: &StepContext, cfg: &SplitConfig) -> Result<StepOutcome> {
    let ds = read_split(ctx.input("dataset")?)?;
    let s = train::split(&ds, cfg)?;
    for (name, part) in [
        ("train", &s.train),
        ("validation", &s.validation),
        ("test", &s.test),
    ] {
        write_split(&ctx.output_dir(name)?, part)?;
    }
    ctx.log(format!(
        "split {} rows (seed {}): train {}, validation {}, test {}",
        ds.len(),
        cfg.seed,
        s.train.len(),
        s.validation.len(),
        s.test.len()
    ));
    Ok(StepOutcome {
        properties: json!({"train": s.train.len(), "validation": s.validation.len(), "test": s.test.len(), "seed": cfg.seed}),
        ..Default::default()
    })
}
