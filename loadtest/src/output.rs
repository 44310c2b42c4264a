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
/// `second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms,non_2xx`.
pub fn write_timeseries_csv(report: &Report, path: &Path) -> Result<(), Error> {
    let mut csv = String::from("second,completed,errors,p50_ms,p90_ms,p99_ms,max_ms,non_2xx\n");
    for s in &report.timeseries {
        csv.push_str(&format!(
            "{},{},{},{:.3},{:.3},{:.3},{:.3},{}\n",
            s.second, s.completed, s.errors, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.non_2xx
        ));
    }
    write_atomic(path, csv.as_bytes())
}

/// The plot of the run over time as a self-contained SVG document:
/// throughput, errors and latency percentiles per second, titled with the
/// target, mode and rate.
pub fn render_svg(report: &Report) -> String {
    let run = report.run.as_ref();
    let mode = match (report.mode.as_str(), &report.ramp) {
        ("ramp", Some(ramp)) => {
            let rates = ramp.steps.iter().map(|s| s.intended_rate);
            let low = rates.clone().fold(f64::INFINITY, f64::min);
            let high = rates.fold(0.0, f64::max);
            let best = ramp
                .max_rate
                .map_or("none passed".to_string(), |r| format!("best {r:.0} req/s"));
            format!("ramp {low:.0}–{high:.0} req/s ({best})")
        }
        (mode, _) => match run.and_then(|r| r.intended_rate) {
            Some(rate) => format!("{}, {rate:.0} req/s", mode.replace('_', " ")),
            None => mode.replace('_', " "),
        },
    };
    let title = format!(
        "{} — {mode}, {} connections",
        report.target, report.connections
    );
    let subtitle = match run {
        Some(r) => format!(
            "{} requests over {:.1} s, achieved {:.1} req/s, {} failed, {} non-2xx; latency {}",
            r.requests.sent,
            r.elapsed_s,
            r.achieved_rate,
            r.requests.failed,
            r.requests.non_2xx,
            if r.intended_rate.is_some() {
                "from intended send times"
            } else {
                "from send times"
            }
        ),
        None => "no run to summarise".to_string(),
    };
    let intended_rate = if report.mode == "open_loop" {
        run.and_then(|r| r.intended_rate)
    } else {
        None
    };
    svg::render(&svg::Plot {
        title,
        subtitle,
        series: &report.timeseries,
        intended_rate,
    })
}

/// Writes [`render_svg`] to `path`.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), Error> {
    write_atomic(path, render_svg(report).as_bytes())
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
