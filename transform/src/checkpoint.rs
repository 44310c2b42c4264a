//! Progress checkpoints of one file: where the input was, how many output bytes answer it,
//! and the counts so far. Written atomically (temporary file, fsync, rename) after the
//! outputs they describe have been fsynced, and removed once the file is done.
use super::fsio::OutDir;
use serde::{Deserialize, Serialize};
use std::io;

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
    /// The first failed record's line and reason (for the message of a failed file).
    #[serde(default)]
    pub first_error: Option<String>,
}

impl Checkpoint {
    pub fn records(&self) -> u64 {
        self.succeeded + self.failed
    }

    pub fn load(dir: &OutDir, name: &str) -> Option<Checkpoint> {
        let bytes = dir.read(name, 1 << 20)?;
        match serde_json::from_slice(&bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %dir.path(name).display(), error = %e, "ignoring an unreadable checkpoint");
                None
            }
        }
    }

    pub fn save(&self, dir: &OutDir, name: &str) -> io::Result<()> {
        dir.write_atomic(name, &serde_json::to_vec(self).map_err(io::Error::other)?)
    }
}

/// Size and modification time (whole seconds) of an input file.
pub fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (m.len(), mtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::ambient(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(&out, "a.ckpt"), None);
        let c = Checkpoint {
            offset: 10,
            succeeded: 3,
            failed: 1,
            ..Default::default()
        };
        c.save(&out, "a.ckpt").unwrap();
        assert_eq!(Checkpoint::load(&out, "a.ckpt"), Some(c.clone()));
        assert_eq!(c.records(), 4);
        std::fs::write(dir.path().join("a.ckpt"), b"{torn").unwrap();
        assert_eq!(Checkpoint::load(&out, "a.ckpt"), None);
    }
}
