//! Progress checkpoints of one file: where the input was, how many output bytes answer it,
//! and the counts so far. Written atomically (temporary file, fsync, rename) after the
//! outputs they describe have been fsynced; a `complete` checkpoint marks a finished file.
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The knobs and model version the output was made with.
    pub fingerprint: String,
    /// Identity of the input: size and modification time (seconds).
    pub input_len: u64,
    pub input_mtime: u64,
    /// Decompressed input bytes consumed.
    pub offset: u64,
    /// Input records read (the line number of the last one).
    pub line: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub truncated: u64,
    pub out_bytes: u64,
    pub err_bytes: u64,
    pub complete: bool,
}

impl Checkpoint {
    pub fn records(&self) -> u64 {
        self.succeeded + self.failed
    }

    pub fn load(path: &Path) -> Option<Checkpoint> {
        let bytes = fs::read(path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable checkpoint");
                None
            }
        }
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("ckpt.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(self).map_err(io::Error::other)?)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        sync_dir(path)
    }
}

/// Makes a rename in `path`'s folder durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Size and modification time (whole seconds) of an input file.
pub fn identity(path: &Path) -> io::Result<(u64, u64)> {
    let m = fs::metadata(path)?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok((m.len(), mtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ckpt");
        assert_eq!(Checkpoint::load(&p), None);
        let c = Checkpoint {
            offset: 10,
            succeeded: 3,
            failed: 1,
            ..Default::default()
        };
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p), Some(c.clone()));
        assert_eq!(c.records(), 4);
        fs::write(&p, b"{torn").unwrap();
        assert_eq!(Checkpoint::load(&p), None);
    }
}
