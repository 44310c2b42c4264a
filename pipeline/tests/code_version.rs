//! The code version in every cache key is the binary's, fixed at build time: it does not
//! depend on the directory a run starts in (a git checkout or not).
use pipeline::{cache, CodeVersion, ExecutorConfig, Home};
use std::collections::BTreeMap;

fn key(cv: &CodeVersion) -> String {
    let parts = cache::key_parts(
        "train",
        &serde_json::json!({"epochs": 2}),
        &BTreeMap::new(),
        &cv.to_string(),
    );
    cache::key(&parts)
}

#[test]
fn the_cache_key_does_not_depend_on_the_working_directory() {
    let here = ExecutorConfig::new(Home::new("h")).code_version;
    assert_eq!(here, CodeVersion::current());
    assert!(here.source_digest.is_some(), "{here:?}");
    assert_eq!(here.crate_version, env!("CARGO_PKG_VERSION"));

    // Somewhere else, outside any git checkout.
    let elsewhere = tempfile::tempdir().unwrap();
    std::env::set_current_dir(elsewhere.path()).unwrap();
    let there = ExecutorConfig::new(Home::new("h")).code_version;
    assert_eq!(here, there);
    assert_eq!(key(&here), key(&there));
}

#[test]
fn the_code_version_reads_as_semver_build_metadata() {
    let v = |git: Option<&str>, src: Option<&str>| CodeVersion {
        crate_version: "0.1.0".into(),
        git_commit: git.map(Into::into),
        source_digest: src.map(Into::into),
    };
    assert_eq!(v(None, None).to_string(), "0.1.0");
    assert_eq!(v(Some("abc"), None).to_string(), "0.1.0+abc");
    assert_eq!(v(None, Some("d1")).to_string(), "0.1.0+src-d1");
    assert_eq!(v(Some("abc"), Some("d1")).to_string(), "0.1.0+abc.src-d1");
    // Lineage stored before the source digest existed still reads.
    let old: CodeVersion =
        serde_json::from_str(r#"{"crate_version": "0.1.0", "git_commit": "abc"}"#).unwrap();
    assert_eq!(old, v(Some("abc"), None));
}
