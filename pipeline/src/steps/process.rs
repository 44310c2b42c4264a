//! process: a seeded, stratified train/validation/test split of the validated dataset.
use super::{overlay, read_split, write_split, StepContext, StepOutcome};
use crate::error::Result;
use serde_json::{json, Map, Value};
use train::SplitConfig;

pub(super) fn split_config(cfg: &Map<String, Value>) -> std::result::Result<SplitConfig, String> {
    let c = overlay(&SplitConfig::default(), cfg, &[])?;
    let ok = |f: f64| (0.0..1.0).contains(&f);
    if !ok(c.validation) || !ok(c.test) || c.validation + c.test >= 1.0 {
        return Err(format!(
            "validation ({}) and test ({}) shares must be in [0, 1) and sum to less than 1",
            c.validation, c.test
        ));
    }
    Ok(c)
}

pub(super) fn run(ctx: &StepContext) -> Result<StepOutcome> {
    let cfg = split_config(&ctx.config).map_err(|m| ctx.fail(m))?;
    let ds = read_split(ctx.input("dataset")?)?;
    let s = train::split(&ds, &cfg)?;
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
