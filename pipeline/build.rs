//! Records the code version at build time, so that it belongs to the binary and not to
//! the directory a run starts in: a sha256 over the sources of the crates that run steps
//! (`pipeline`, `train`, `models`) and, when the build happens in a git checkout, its
//! commit (`SENTIO_GIT_COMMIT` in the build environment overrides it).
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Source folders whose content is the step code, relative to this crate.
const SOURCES: [&str; 3] = [".", "../train", "../models"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn source_digest(root: &Path) -> String {
    let mut h = Sha256::new();
    for src in SOURCES {
        let crate_dir = root.join(src);
        let mut all = Vec::new();
        for part in ["src", "Cargo.toml"] {
            let p = crate_dir.join(part);
            println!("cargo:rerun-if-changed={}", p.display());
            if p.is_dir() {
                files(&p, &mut all);
            } else if p.is_file() {
                all.push(p);
            }
        }
        all.sort();
        for p in all {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            h.update(rel.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(std::fs::read(&p).unwrap_or_default());
            h.update(b"\n");
        }
    }
    hex::encode(h.finalize())[..16].to_string()
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The commit of the checkout this crate is built in; the files that change when HEAD
/// moves are watched so a new commit is recorded.
fn git_commit(root: &Path) -> Option<String> {
    let commit = git(root, &["rev-parse", "--short=12", "HEAD"])?;
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(r) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(r);
    }
    for w in watch {
        if let Some(p) = git(root, &["rev-parse", "--git-path", &w]) {
            let p = root.join(p);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    Some(commit)
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SENTIO_GIT_COMMIT");
    println!(
        "cargo:rustc-env=SENTIO_SOURCE_DIGEST={}",
        source_digest(&root)
    );
    let commit = std::env::var("SENTIO_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git_commit(&root))
        .unwrap_or_default();
    println!("cargo:rustc-env=SENTIO_BUILD_GIT_COMMIT={commit}");
}
