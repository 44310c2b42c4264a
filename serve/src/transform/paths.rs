//! Confinement of job paths to configured roots: relative paths are taken from the first
//! root, `..` is refused, and symlinks are resolved (canonicalised) before the check.
use crate::error::ServeError;
use std::path::{Component, Path, PathBuf};

/// The canonical form of `path` if it lies inside one of `roots` (which must exist). A
/// path that does not exist yet (an output folder) is checked through its nearest existing
/// ancestor.
pub fn confine(path: &Path, roots: &[PathBuf]) -> Result<PathBuf, ServeError> {
    let denied = |why: &str| ServeError::PathNotAllowed(format!("{}: {why}", path.display()));
    let first = roots
        .first()
        .ok_or_else(|| denied("no transform roots are configured (--transform-root)"))?;
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(denied("\"..\" is not allowed"));
    }
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        first.join(path)
    };
    let resolved = resolve(&joined).map_err(|e| denied(&e.to_string()))?;
    for root in roots {
        let root = root
            .canonicalize()
            .map_err(|e| denied(&format!("root {}: {e}", root.display())))?;
        if resolved.starts_with(&root) {
            return Ok(resolved);
        }
    }
    Err(denied("outside the transform roots"))
}

/// Canonicalises the longest existing prefix and appends the rest.
fn resolve(p: &Path) -> std::io::Result<PathBuf> {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize()?;
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("a.jsonl"), "").unwrap();
        std::fs::write(outside.join("b.jsonl"), "").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let roots = vec![root.clone()];
        assert!(confine(Path::new("a.jsonl"), &roots).is_ok());
        assert!(confine(&root.join("new/out"), &roots).is_ok());
        for bad in [
            root.join("../outside/b.jsonl"),
            outside.join("b.jsonl"),
            root.join("link/b.jsonl"),
            root.join("link/new"),
        ] {
            assert!(
                matches!(confine(&bad, &roots), Err(ServeError::PathNotAllowed(_))),
                "{}",
                bad.display()
            );
        }
        assert!(confine(Path::new("a.jsonl"), &[]).is_err());
    }
}
