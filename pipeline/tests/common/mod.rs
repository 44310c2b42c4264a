#![allow(dead_code)]
use pipeline::{CodeVersion, ExecutorConfig, Home, PipelineDef, RunRequest, Stores};
use std::path::{Path, PathBuf};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cfg: ExecutorConfig,
    pub stores: Stores,
    pub data: PathBuf,
}

pub fn env(rows: usize, seed: u64) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("reviews.csv");
    train::demo::write_csv(&data, rows, seed).unwrap();
    let mut cfg = ExecutorConfig::new(Home::new(dir.path().join("home")));
    cfg.code_version = CodeVersion {
        crate_version: "0.1.0".into(),
        git_commit: Some("aaaaaaa".into()),
        source_digest: None,
    };
    let stores = cfg.home.open_stores().unwrap();
    Env {
        dir,
        cfg,
        stores,
        data,
    }
}

/// Tiny fastText settings so a train step takes a second or two.
pub fn fast(data: &Path) -> Vec<(String, String)> {
    [
        ("input_data", data.display().to_string()),
        ("epochs", "2".into()),
        ("dim", "16".into()),
        ("bigram_buckets", "5000".into()),
        ("vocab_size", "2000".into()),
        ("max_len", "64".into()),
        ("device", "cpu".into()),
        ("min_accuracy", "0.0".into()),
        ("max_duplicate_share", "0.5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn request(data: &Path, extra: &[(&str, &str)]) -> RunRequest {
    let mut r = RunRequest::new(PipelineDef::default_pipeline());
    r.overrides = fast(data);
    r.overrides
        .extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    r
}

pub fn step<'a>(s: &'a pipeline::ExecutionSummary, name: &str) -> &'a pipeline::StepSummary {
    s.steps.iter().find(|x| x.name == name).unwrap()
}

/// `pipeline describe` of an execution, as text.
pub fn describe(e: &Env, id: &str) -> String {
    let store = &*e.stores.metadata;
    let rec = store.execution(id).unwrap().unwrap();
    pipeline::describe::describe_text(store, &rec).unwrap()
}
