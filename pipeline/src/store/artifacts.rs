//! The content-addressed artifact store: every step output is a directory named by the
//! digest of its contents, moved into place by one rename, so a partial artifact is never
//! visible and an identical output is stored once.
use crate::error::{PipelineError, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where step outputs live.
pub trait ArtifactStore: Send + Sync {
    /// A fresh, empty directory to write outputs into before [`Self::commit`].
    fn staging_dir(&self) -> Result<PathBuf>;
    /// Moves a finished directory into the store; returns its digest.
    fn commit(&self, dir: &Path) -> Result<String>;
    /// The directory of a stored artifact on this machine (an object store downloads it
    /// into its local cache first, verified against the digest).
    fn fetch(&self, digest: &str) -> Result<PathBuf>;
    /// Whether the artifact is stored (published, for an object store).
    fn contains(&self, digest: &str) -> Result<bool>;
    /// Where an artifact is stored, for people: a path or a URL (nothing is fetched).
    fn location(&self, digest: &str) -> String;
    /// Removes staging directories older than `age` (left by killed processes; never
    /// visible as artifacts). Returns how many were removed.
    fn clean_staging(&self, age: std::time::Duration) -> usize;
}

/// The store on the local filesystem (`$SENTIO_HOME/artifacts/<digest>/`).
#[derive(Debug, Clone)]
pub struct FsArtifactStore {
    root: PathBuf,
}

impl FsArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsArtifactStore { root: root.into() }
    }
    fn staging_root(&self) -> PathBuf {
        self.root.join(".staging")
    }
    /// Where an artifact is (or would be) in this folder.
    pub fn path(&self, digest: &str) -> PathBuf {
        self.root.join(digest)
    }
    /// Whether this folder has the artifact.
    pub fn has(&self, digest: &str) -> bool {
        self.path(digest).is_dir()
    }
}

/// Every file under `dir` as (`/`-separated relative path, path).
pub(super) fn files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| PipelineError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| PipelineError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let ft = entry
            .file_type()
            .map_err(|e| PipelineError::io(entry.path(), e))?;
        if ft.is_dir() {
            files(&entry.path(), &rel, out)?;
        } else {
            out.push((rel, entry.path()));
        }
    }
    Ok(())
}

fn file_sha(path: &Path) -> Result<String> {
    Ok(models::artifact::file_digest(path)?)
}

/// sha256 over the sorted `path\0sha256(file)\n` lines of a directory tree (or of one
/// file's bytes when `path` is a file).
pub fn tree_digest(path: &Path) -> Result<String> {
    if path.is_file() {
        return file_sha(path);
    }
    let mut all = Vec::new();
    files(path, "", &mut all)?;
    all.sort();
    let mut h = Sha256::new();
    for (rel, p) in &all {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(file_sha(p)?.as_bytes());
        h.update(b"\n");
    }
    Ok(hex::encode(h.finalize()))
}

fn sync_tree(dir: &Path) -> Result<()> {
    let mut all = Vec::new();
    files(dir, "", &mut all)?;
    for (_, p) in all {
        let f = std::fs::File::open(&p).map_err(|e| PipelineError::io(&p, e))?;
        f.sync_all().map_err(|e| PipelineError::io(&p, e))?;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl ArtifactStore for FsArtifactStore {
    fn staging_dir(&self) -> Result<PathBuf> {
        let p = self.staging_root().join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&p).map_err(|e| PipelineError::io(&p, e))?;
        Ok(p)
    }

    fn commit(&self, dir: &Path) -> Result<String> {
        if !dir.is_dir() {
            return Err(PipelineError::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the step did not write this output",
                ),
            ));
        }
        sync_tree(dir)?;
        let digest = tree_digest(dir)?;
        let dest = self.path(&digest);
        if dest.exists() {
            // Same content already stored (a rerun, or another execution at the same time).
            let _ = std::fs::remove_dir_all(dir);
            return Ok(digest);
        }
        match std::fs::rename(dir, &dest) {
            Ok(()) => {}
            Err(_) if dest.exists() => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Err(e) => return Err(PipelineError::io(&dest, e)),
        }
        if let Ok(d) = std::fs::File::open(&self.root) {
            let _ = d.sync_all();
        }
        Ok(digest)
    }

    fn fetch(&self, digest: &str) -> Result<PathBuf> {
        let p = self.path(digest);
        if !p.is_dir() {
            return Err(PipelineError::NotFound {
                what: "artifact",
                id: p.display().to_string(),
            });
        }
        Ok(p)
    }

    fn contains(&self, digest: &str) -> Result<bool> {
        Ok(self.has(digest))
    }

    fn location(&self, digest: &str) -> String {
        self.path(digest).display().to_string()
    }

    fn clean_staging(&self, age: std::time::Duration) -> usize {
        let Ok(rd) = std::fs::read_dir(self.staging_root()) else {
            return 0;
        };
        let mut n = 0;
        for e in rd.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|el| el > age);
            if old && std::fs::remove_dir_all(e.path()).is_ok() {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_content_addressed_and_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FsArtifactStore::new(tmp.path().join("artifacts"));
        let write = |content: &str| {
            let d = store.staging_dir().unwrap().join("out");
            std::fs::create_dir_all(d.join("sub")).unwrap();
            std::fs::write(d.join("a.txt"), content).unwrap();
            std::fs::write(d.join("sub/b.txt"), "b").unwrap();
            d
        };
        let d1 = store.commit(&write("x")).unwrap();
        let d2 = store.commit(&write("x")).unwrap();
        let d3 = store.commit(&write("y")).unwrap();
        assert_eq!(d1, d2);
        assert_ne!(d1, d3);
        assert!(store.contains(&d1).unwrap());
        assert_eq!(
            std::fs::read_to_string(store.path(&d1).join("sub/b.txt")).unwrap(),
            "b"
        );
        assert_eq!(tree_digest(&store.path(&d1)).unwrap(), d1);
    }
}
