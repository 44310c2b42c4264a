//! Writing report files atomically (temporary file in the same folder,
//! fsync, rename).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::report::Report;
use crate::svg;

/// Writes the JSON report.
pub fn write_json(report: &Report, path: &Path) -> Result<(), Error> {
    let mut json = report.to_json()?;
    json.push('\n');
    write_atomic(path, json.as_bytes())
}

/// Writes the per-second series as CSV:
/// `second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms`.
pub fn write_timeseries_csv(report: &Report, path: &Path) -> Result<(), Error> {
    let mut csv = String::from("second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms\n");
    for s in &report.timeseries {
        csv.push_str(&format!(
            "{},{},{},{:.3},{:.3},{:.3},{:.3}\n",
            s.second, s.completed, s.errors, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        ));
    }
    write_atomic(path, csv.as_bytes())
}

/// Writes the latency-over-time plot as SVG.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), Error> {
    let title = format!("{} — {}", report.target, report.mode.replace('_', " "));
    write_atomic(path, svg::render(&title, &report.timeseries).as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::Output {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("not a file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_reports_bad_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let bad = dir.path().join("missing/out.txt");
        assert!(matches!(
            write_atomic(&bad, b"x"),
            Err(Error::Output { .. })
        ));
    }
}
