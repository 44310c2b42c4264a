//! The drift reports of an endpoint over time. The monitor writes
//! `monitoring_report.json` ([`monitoring::drift::CheckResult`]) into a folder per run;
//! the console finds them under the endpoint's monitor folder, laid out as
//! `<monitor>/[<variant>/][<run>/]monitoring_report.json`: a first-level folder whose
//! name starts with a digit is a run of the whole endpoint, any other names a variant
//! (a series). A run's time is its file's modification time.
//!
//! Summaries are cached by (path, modification time): a page lists hundreds of runs
//! without parsing them again; only the newest run of a series is read in full.
use monitoring::drift::{CheckResult, RunStatus};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

pub const REPORT: &str = "monitoring_report.json";
/// Folders looked into below the monitor folder, at most.
const MAX_DEPTH: usize = 3;
/// Reports listed per endpoint, at most (the newest).
const MAX_RUNS: usize = 5000;
/// The series of reports of the whole endpoint.
pub const WHOLE_ENDPOINT: &str = "all variants";

/// What the console keeps of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunSummary {
    /// RFC 3339 UTC.
    pub at: String,
    pub status: RunStatus,
    pub records: u64,
    pub violations: Vec<ViolationBrief>,
    pub drift_share: f64,
    pub max_psi: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ViolationBrief {
    pub feature: String,
    pub check: String,
    pub description: String,
}

/// A run found on disk.
#[derive(Debug, Clone)]
pub struct Run {
    pub series: String,
    pub path: PathBuf,
    pub summary: RunSummary,
}

#[derive(Default)]
pub struct ReportCache {
    cache: Mutex<HashMap<PathBuf, (SystemTime, RunSummary)>>,
}

fn summarize(r: &CheckResult, modified: SystemTime) -> RunSummary {
    RunSummary {
        at: chrono::DateTime::<chrono::Utc>::from(modified)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        status: r.status,
        records: r.records,
        violations: r
            .violations
            .iter()
            .map(|v| ViolationBrief {
                feature: v.feature_name.clone(),
                check: v.constraint_check_type.to_string(),
                description: crate::redact::hide_paths(&v.description),
            })
            .collect(),
        drift_share: r.drift_share,
        max_psi: r.features.iter().map(|f| f.psi).fold(0.0, f64::max),
    }
}

fn find(dir: &Path, depth: usize, rel: &mut Vec<String>, out: &mut Vec<(Vec<String>, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_file() && name == REPORT {
            out.push((rel.clone(), p));
        } else if ft.is_dir() && depth < MAX_DEPTH && !name.starts_with('.') {
            rel.push(name);
            find(&p, depth + 1, rel, out);
            rel.pop();
        }
    }
}

/// The series a report at `rel` (its folders below the monitor folder) belongs to.
fn series_of(rel: &[String]) -> String {
    match rel.first() {
        Some(first) if !first.starts_with(|c: char| c.is_ascii_digit()) => first.clone(),
        _ => WHOLE_ENDPOINT.to_string(),
    }
}

impl ReportCache {
    /// Every run under `monitor_dir`, oldest first (the newest [`MAX_RUNS`] at most).
    pub fn runs(&self, monitor_dir: &Path) -> Vec<Run> {
        let mut found = Vec::new();
        find(monitor_dir, 0, &mut Vec::new(), &mut found);
        let mut runs: Vec<(Vec<String>, PathBuf, SystemTime)> = found
            .into_iter()
            .filter_map(|(rel, p)| {
                let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
                Some((rel, p, m))
            })
            .collect();
        runs.sort_by_key(|(_, p, m)| (*m, p.clone()));
        let skip = runs.len().saturating_sub(MAX_RUNS);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (rel, path, modified) in runs.into_iter().skip(skip) {
            let summary = match cache.get(&path) {
                Some((m, s)) if *m == modified => s.clone(),
                _ => match monitoring::files::read_json::<CheckResult>(&path) {
                    Ok(r) => {
                        let s = summarize(&r, modified);
                        cache.insert(path.clone(), (modified, s.clone()));
                        s
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable monitoring report left out");
                        continue;
                    }
                },
            };
            out.push(Run {
                series: series_of(&rel),
                path,
                summary,
            });
        }
        out
    }

    /// Runs grouped by series (series by name, runs oldest first).
    pub fn by_series(&self, monitor_dir: &Path) -> BTreeMap<String, Vec<Run>> {
        let mut out: BTreeMap<String, Vec<Run>> = BTreeMap::new();
        for r in self.runs(monitor_dir) {
            out.entry(r.series.clone()).or_default().push(r);
        }
        out
    }
}

/// The full report of a run.
pub fn load(run: &Run) -> Option<CheckResult> {
    monitoring::files::read_json(&run.path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(records: u64) -> CheckResult {
        CheckResult {
            status: RunStatus::Completed,
            records,
            unprofiled_texts: 0,
            unreadable_lines: 0,
            min_samples: 1,
            bonferroni_alpha: 0.05,
            features: vec![],
            violations: vec![monitoring::drift::Violation {
                feature_name: "token_length".into(),
                constraint_check_type: monitoring::drift::CheckType::BaselineDriftCheck,
                description: "drifted, see /srv/x/report.html".into(),
            }],
            unchecked_features: vec![],
            drift_share: 0.5,
        }
    }

    #[test]
    fn runs_are_found_grouped_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, n: u64| {
            monitoring::files::write_json(&dir.path().join(rel).join(REPORT), &report(n)).unwrap()
        };
        write("", 1);
        write("A/2025-01-01T00", 2);
        write("A/2025-01-01T01", 3);
        write("B", 4);
        write("2025-01-01T02", 5);
        let cache = ReportCache::default();
        let s = cache.by_series(dir.path());
        let counts: BTreeMap<&str, usize> = s.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
        assert_eq!(
            counts,
            BTreeMap::from([("A", 2), ("B", 1), (WHOLE_ENDPOINT, 2)])
        );
        let a = &s["A"][0].summary;
        assert_eq!(a.violations[0].description, "drifted, see …/report.html");
        assert_eq!(a.violations[0].check, "baseline_drift_check");
        assert!(load(&s["B"][0]).is_some());
        // Cached: the same summaries come back.
        assert_eq!(cache.runs(dir.path()).len(), 5);
    }
}
