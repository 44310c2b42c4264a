//! The files of a job, reached through directory handles. A server job's paths are
//! resolved beneath `--transform-root` folders opened once (`cap-std`: `openat2` with
//! `RESOLVE_BENEATH` on Linux), so no symlink or `..` leads a read or a write outside them;
//! `sentio transform` reads its input as given. Every output file lives in the output
//! folder's handle, is created exclusively (`O_EXCL`) and reopened without following
//! symlinks (`O_NOFOLLOW`), and replaces its final name by a rename.
use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt};
use cap_std::fs::{Dir, OpenOptions};
use serve::ServeError;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An input file or folder: a path as given (a CLI job, no root), or a path beneath a root.
#[derive(Debug, Clone)]
pub struct InputPath {
    root: Option<Arc<Dir>>,
    rel: PathBuf,
    shown: PathBuf,
}

impl InputPath {
    pub fn ambient(path: &Path) -> InputPath {
        let (rel, shown) = (path.to_path_buf(), path.to_path_buf());
        InputPath {
            root: None,
            rel,
            shown,
        }
    }

    /// The path to show (in summaries and messages).
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    pub fn name(&self) -> String {
        let name = self.shown.file_name().unwrap_or_default();
        name.to_string_lossy().into_owned()
    }

    pub fn open(&self) -> io::Result<File> {
        match &self.root {
            None => File::open(&self.rel),
            Some(root) => Ok(root.open(dot(&self.rel))?.into_std()),
        }
    }

    /// Whether it is a folder (else a file), refusing what leads outside a root.
    fn is_dir(&self) -> Result<bool, ServeError> {
        let meta = match &self.root {
            None => std::fs::metadata(&self.rel).map(|m| m.is_dir()),
            Some(root) => root.metadata(dot(&self.rel)).map(|m| m.is_dir()),
        };
        meta.map_err(|e| refusal(&self.shown, e))
    }

    /// The files of a folder (sorted, `keep` choosing by name), or the file itself. A
    /// server job whose folder holds a link out of its root is refused as a whole.
    pub fn files(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<InputPath>, ServeError> {
        if !self.is_dir()? {
            return Ok(vec![self.clone()]);
        }
        let names: Vec<String> = match &self.root {
            None => std::fs::read_dir(&self.rel)?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<io::Result<_>>()?,
            Some(root) => root
                .read_dir(dot(&self.rel))?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<io::Result<_>>()?,
        };
        let mut files = Vec::new();
        for name in names.into_iter().filter(|n| keep(n)) {
            let (rel, shown) = (self.rel.join(&name), self.shown.join(&name));
            let f = InputPath {
                root: self.root.clone(),
                rel,
                shown,
            };
            match f.is_dir() {
                Ok(false) => files.push(f),
                Ok(true) => {}
                Err(e @ ServeError::PathNotAllowed(_)) => return Err(e),
                Err(_) => {} // a dangling link
            }
        }
        files.sort_by(|a, b| a.shown.cmp(&b.shown));
        Ok(files)
    }
}

/// The output folder of a job.
#[derive(Debug)]
pub struct OutDir {
    dir: Dir,
    shown: PathBuf,
}

impl OutDir {
    /// The folder at `path` (created if missing), for a CLI job.
    pub fn ambient(path: &Path) -> Result<OutDir, ServeError> {
        let io = |e: io::Error| ServeError::Invalid(format!("output {}: {e}", path.display()));
        std::fs::create_dir_all(path).map_err(io)?;
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority()).map_err(io)?;
        Ok(OutDir {
            dir,
            shown: path.to_path_buf(),
        })
    }

    /// The folder `rel` beneath `root` (created if missing).
    pub fn beneath(root: &Dir, rel: &Path, shown: PathBuf) -> Result<OutDir, ServeError> {
        root.create_dir_all(dot(rel))
            .and_then(|()| root.open_dir(dot(rel)))
            .map(|dir| OutDir {
                dir,
                shown: shown.clone(),
            })
            .map_err(|e| refusal(&shown, e))
    }

    pub fn shown(&self) -> &Path {
        &self.shown
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.shown.join(name)
    }

    /// A new empty file `name`, replacing whatever (file or link) had the name.
    pub fn create(&self, name: &str) -> io::Result<File> {
        self.remove(name)?;
        let mut o = OpenOptions::new();
        o.write(true).create_new(true).follow(FollowSymlinks::No);
        Ok(self.dir.open_with(name, &o)?.into_std())
    }

    /// `name`, cut to `len` bytes and positioned there (never through a link).
    pub fn reopen(&self, name: &str, len: u64) -> io::Result<File> {
        let mut o = OpenOptions::new();
        o.read(true).write(true).follow(FollowSymlinks::No);
        let mut f = self.dir.open_with(name, &o)?.into_std();
        f.set_len(len)?;
        f.seek(SeekFrom::Start(len))?;
        Ok(f)
    }

    /// The size of the regular file `name` (links are not followed), if there is one.
    pub fn len(&self, name: &str) -> Option<u64> {
        let m = self.dir.symlink_metadata(name).ok()?;
        m.is_file().then(|| m.len())
    }

    /// The first `max` bytes of the regular file `name`, if there is one.
    pub fn read(&self, name: &str, max: u64) -> Option<Vec<u8>> {
        let mut o = OpenOptions::new();
        o.read(true).follow(FollowSymlinks::No);
        let f = self.dir.open_with(name, &o).ok()?.into_std();
        let mut bytes = Vec::new();
        f.take(max).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        match self.dir.remove_file(name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.dir.rename(from, &self.dir, to)
    }

    /// Makes the folder's renames durable.
    pub fn sync(&self) -> io::Result<()> {
        let mut o = OpenOptions::new();
        o.read(true).maybe_dir(true);
        self.dir.open_with(".", &o)?.into_std().sync_all()
    }

    /// Writes `name` atomically: a temporary file, fsync, rename, fsync of the folder.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = format!(".{name}.tmp");
        let mut f = self.create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        self.rename(&tmp, name)?;
        self.sync()
    }
}

/// The roots of a server's jobs, opened once: as configured, canonical, and the handle.
#[derive(Debug)]
pub struct Roots(Vec<(PathBuf, PathBuf, Result<Arc<Dir>, String>)>);

impl Roots {
    pub fn open(paths: &[PathBuf]) -> Roots {
        Roots(
            paths
                .iter()
                .map(|p| {
                    let canonical = p.canonicalize().unwrap_or_else(|_| p.clone());
                    let dir = Dir::open_ambient_dir(p, cap_std::ambient_authority())
                        .map(Arc::new)
                        .map_err(|e| format!("transform root {}: {e}", p.display()));
                    (p.clone(), canonical, dir)
                })
                .collect(),
        )
    }

    /// The root `path` lies in, and `path` relative to it: relative paths are taken from
    /// the first root, absolute ones must start with a root.
    fn locate(&self, path: &Path) -> Result<(Arc<Dir>, PathBuf, PathBuf), ServeError> {
        let denied = |why: &str| ServeError::PathNotAllowed(format!("{}: {why}", path.display()));
        let (root, rel) = if path.is_absolute() {
            let within = |r: &PathBuf| path.strip_prefix(r).ok().map(Path::to_path_buf);
            self.0
                .iter()
                .find_map(|r| Some((r, within(&r.1).or_else(|| within(&r.0))?)))
                .ok_or_else(|| denied("outside the transform roots"))?
        } else {
            let first = self
                .0
                .first()
                .ok_or_else(|| denied("no transform roots are configured (--transform-root)"))?;
            (first, path.to_path_buf())
        };
        let dir = root.2.clone().map_err(ServeError::Config)?;
        Ok((dir, root.1.join(&rel), rel))
    }

    /// An input file or folder beneath a root (it must exist and stay inside).
    pub fn input(&self, path: &Path) -> Result<InputPath, ServeError> {
        let (root, shown, rel) = self.locate(path)?;
        let input = InputPath {
            root: Some(root),
            rel,
            shown,
        };
        input.is_dir()?;
        Ok(input)
    }

    /// An output folder beneath a root, created if missing.
    pub fn output(&self, path: &Path) -> Result<OutDir, ServeError> {
        let (root, shown, rel) = self.locate(path)?;
        OutDir::beneath(&root, &rel, shown)
    }
}

fn dot(rel: &Path) -> &Path {
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// An error reaching `path`: a way out of a root is refused (403), anything else is a bad
/// path (422).
fn refusal(path: &Path, e: io::Error) -> ServeError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => ServeError::PathNotAllowed(format!(
            "{}: leads outside the transform root or is not readable ({e})",
            path.display()
        )),
        _ => ServeError::Invalid(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// How resolving an input ends: "ok N files", "403" or "422".
    fn input(roots: &Roots, p: &Path) -> String {
        match roots.input(p).and_then(|i| i.files(|_| true)) {
            Ok(f) => format!("ok {}", f.len()),
            Err(e) => e.status().as_str().to_string(),
        }
    }

    #[test]
    fn roots_refuse_escapes_and_outputs_never_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
        std::fs::create_dir_all(root.join("in")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("in/a.jsonl"), "").unwrap();
        std::fs::write(outside.join("b.jsonl"), "secret").unwrap();
        symlink(&outside, root.join("link")).unwrap();
        let roots = Roots::open(std::slice::from_ref(&root));
        let rel = |p: &str| input(&roots, Path::new(p));
        assert_eq!(
            [rel("in"), input(&roots, &root.join("in/a.jsonl"))],
            ["ok 1", "ok 1"]
        );
        assert!(roots.output(Path::new("new/out")).is_ok());
        for bad in ["../outside/b.jsonl", "link/b.jsonl", "link"] {
            assert_eq!(rel(bad), "403", "{bad}");
        }
        for bad in [outside.join("b.jsonl"), root.join("link/b.jsonl")] {
            assert_eq!(input(&roots, &bad), "403", "{}", bad.display());
        }
        let e = roots.output(Path::new("link/out")).unwrap_err();
        assert!(matches!(e, ServeError::PathNotAllowed(_)), "{e}");
        assert_eq!(rel("absent"), "422");
        assert!(Roots::open(&[]).input(Path::new("in")).is_err());
        // A link planted in a folder is refused with the folder.
        symlink(outside.join("b.jsonl"), root.join("in/evil.jsonl")).unwrap();
        assert_eq!(rel("in"), "403");

        // Outputs: a planted link is replaced, never written through.
        let out = roots.output(Path::new("out")).unwrap();
        symlink(outside.join("b.jsonl"), root.join("out/.x.partial")).unwrap();
        assert!(out.reopen(".x.partial", 0).is_err());
        assert_eq!(out.len(".x.partial"), None);
        let mut f = out.create(".x.partial").unwrap();
        f.write_all(b"mine").unwrap();
        out.write_atomic("s.json", b"{}").unwrap();
        assert_eq!(std::fs::read(outside.join("b.jsonl")).unwrap(), b"secret");
        assert_eq!(out.read(".x.partial", 2).unwrap(), b"mi");
    }
}
