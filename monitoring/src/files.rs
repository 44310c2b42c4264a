//! Reading and writing the loop's JSON files: writes are atomic (a temporary name in the
//! same folder, fsync, rename), and every error names the file.
use crate::MonitoringError;
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, creating its folder.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), MonitoringError> {
    let io = |e| MonitoringError::io(path, e);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), MonitoringError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| MonitoringError::json(path, e))?;
    bytes.push(b'\n');
    write_bytes(path, &bytes)
}

/// Reads `path` as JSON of type `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, MonitoringError> {
    let bytes = std::fs::read(path).map_err(|e| MonitoringError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| MonitoringError::json(path, e))
}
