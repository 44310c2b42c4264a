//! Same data and seed → the same weights, byte for byte; another seed → other weights.
//! Alone in its test binary: tch's random generator is process-global, so tests training
//! concurrently in one process would draw from it in between.
mod common;

use common::{demo_data, job, small_config};
use train::job::run;
use train::Architecture;

#[test]
fn training_is_deterministic_for_a_seed_on_cpu() {
    let (dir, data) = demo_data(800, 3);
    let a = run(&job(
        dir.path(),
        &data,
        small_config(Architecture::FastText),
        "a",
    ))
    .unwrap();
    let b = run(&job(
        dir.path(),
        &data,
        small_config(Architecture::FastText),
        "b",
    ))
    .unwrap();
    let files = |r: &train::job::JobResult, f: &str| r.artifact.manifest.files[f].clone();
    assert_eq!(files(&a, "tokenizer.json"), files(&b, "tokenizer.json"));
    assert_eq!(
        files(&a, "model.safetensors"),
        files(&b, "model.safetensors")
    );
    assert_eq!(a.evaluation, b.evaluation);
    let mut other = small_config(Architecture::FastText);
    other.seed = 9;
    let c = run(&job(dir.path(), &data, other, "c")).unwrap();
    assert_ne!(
        files(&a, "model.safetensors"),
        files(&c, "model.safetensors")
    );
}
