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
///
/// Staging directories of one process live under `.staging/<session>/`, next to
/// `.staging/<session>.lock`, which the process holds locked (`flock`) while it runs: a
/// session whose lock can be taken belongs to a process that is gone (even by `kill -9`),
/// so [`ArtifactStore::clean_staging`] removes it at once, whatever its age, and never
/// touches the staging of a process that is still running.
#[derive(Debug, Clone)]
pub struct FsArtifactStore {
    root: PathBuf,
    session: std::sync::Arc<std::sync::Mutex<Option<Session>>>,
}

/// This process's staging folder and the lock that marks it alive; both removed when the
/// store is dropped (a killed process leaves them to the next clean-up).
#[derive(Debug)]
struct Session {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: std::fs::File,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

impl FsArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsArtifactStore {
            root: root.into(),
            session: Default::default(),
        }
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

    /// This process's staging folder, created (and locked) on first use.
    fn session_dir(&self) -> Result<PathBuf> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = session.as_ref() {
            return Ok(s.dir.clone());
        }
        let root = self.staging_root();
        std::fs::create_dir_all(&root).map_err(|e| PipelineError::io(&root, e))?;
        let id = uuid::Uuid::new_v4().to_string();
        // The lock first, then the folder: a folder never exists unlocked.
        let lock_path = root.join(format!("{id}.lock"));
        let lock =
            std::fs::File::create(&lock_path).map_err(|e| PipelineError::io(&lock_path, e))?;
        lock.lock().map_err(|e| PipelineError::io(&lock_path, e))?;
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
        *session = Some(Session {
            dir: dir.clone(),
            lock_path,
            _lock: lock,
        });
        Ok(dir)
    }
}

/// Whether the lock file at `path` is held by no process (its owner is gone).
fn abandoned(path: &Path) -> bool {
    std::fs::File::open(path).is_ok_and(|f| f.try_lock().is_ok())
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
        let p = self.session_dir()?.join(uuid::Uuid::new_v4().to_string());
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
        let root = self.staging_root();
        let Ok(rd) = std::fs::read_dir(&root) else {
            return 0;
        };
        let mut n = 0;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(session) = name.strip_suffix(".lock") {
                // A lock whose folder is gone (removed below, or never made).
                if !root.join(session).exists() && abandoned(&e.path()) {
                    let _ = std::fs::remove_file(e.path());
                }
                continue;
            }
            let lock = root.join(format!("{name}.lock"));
            if lock.exists() {
                if abandoned(&lock) && std::fs::remove_dir_all(e.path()).is_ok() {
                    let _ = std::fs::remove_file(&lock);
                    n += 1;
                }
                continue;
            }
            // A folder of an older layout, without a lock: by age only.
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
    fn staging_of_a_process_that_is_gone_is_cleaned_and_a_live_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("artifacts");
        let live = FsArtifactStore::new(&root);
        let mine = live.staging_dir().unwrap();
        // What `kill -9` leaves: a session folder and its lock file, unlocked.
        let dead = root.join(".staging/dead-session");
        std::fs::create_dir_all(dead.join("step")).unwrap();
        std::fs::write(root.join(".staging/dead-session.lock"), "").unwrap();
        // An older layout's folder, recent: kept (age decides).
        std::fs::create_dir_all(root.join(".staging/legacy")).unwrap();
        let other = FsArtifactStore::new(&root);
        assert_eq!(other.clean_staging(std::time::Duration::from_secs(3600)), 1);
        assert!(!dead.exists());
        assert!(!root.join(".staging/dead-session.lock").exists());
        assert!(
            mine.exists(),
            "a running process's staging is never removed"
        );
        assert!(root.join(".staging/legacy").exists());
        // A process that ends normally takes its staging with it.
        drop(live);
        assert!(!mine.exists());
        assert_eq!(std::fs::read_dir(root.join(".staging")).unwrap().count(), 1);
    }

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
