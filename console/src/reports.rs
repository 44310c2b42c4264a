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

/// Folder listings and run summaries, reused while a folder's modification time stays
/// the same (reports are written by rename, which touches their folder): a scan of 720
/// runs costs one `stat` per folder, not a listing and a parse per run.
#[derive(Default)]
pub struct ReportCache {
    dirs: Mutex<HashMap<PathBuf, Listing>>,
    cache: Mutex<HashMap<PathBuf, Cached>>,
}

/// A folder's modification time and its entries (name, is a folder).
type Listing = (SystemTime, Vec<(String, bool)>);

struct Cached {
    dir_modified: SystemTime,
    modified: SystemTime,
    summary: RunSummary,
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

/// The series a report at `rel` (its folders below the monitor folder) belongs to.
fn series_of(rel: &[String]) -> String {
    match rel.first() {
        Some(first) if !first.starts_with(|c: char| c.is_ascii_digit()) => first.clone(),
        _ => WHOLE_ENDPOINT.to_string(),
    }
}

impl ReportCache {
    /// (name, is a folder) of the entries of `dir`, from the cache while `dir` is unchanged.
    fn list(&self, dir: &Path, modified: SystemTime) -> Vec<(String, bool)> {
        let mut dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((m, entries)) = dirs.get(dir) {
            if *m == modified {
                return entries.clone();
            }
        }
        let entries: Vec<(String, bool)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let ft = e.file_type().ok()?;
                        Some((e.file_name().to_string_lossy().into_owned(), ft.is_dir()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        dirs.insert(dir.to_path_buf(), (modified, entries.clone()));
        entries
    }

    /// Reports under `dir`: (folders below the monitor folder, report, its folder's time).
    fn find(
        &self,
        dir: &Path,
        depth: usize,
        rel: &mut Vec<String>,
        out: &mut Vec<(Vec<String>, PathBuf, SystemTime)>,
    ) {
        let Ok(modified) = std::fs::metadata(dir).and_then(|m| m.modified()) else {
            return;
        };
        for (name, is_dir) in self.list(dir, modified) {
            if !is_dir && name == REPORT {
                out.push((rel.clone(), dir.join(&name), modified));
            } else if is_dir && depth < MAX_DEPTH && !name.starts_with('.') {
                rel.push(name.clone());
                self.find(&dir.join(&name), depth + 1, rel, out);
                rel.pop();
            }
        }
    }

    /// Every run under `monitor_dir`, oldest first (the newest [`MAX_RUNS`] at most).
    pub fn runs(&self, monitor_dir: &Path) -> Vec<Run> {
        let mut found = Vec::new();
        self.find(monitor_dir, 0, &mut Vec::new(), &mut found);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let mut runs: Vec<(SystemTime, Run)> = Vec::with_capacity(found.len());
        for (rel, path, dir_modified) in found {
            let fresh = cache
                .get(&path)
                .is_some_and(|c| c.dir_modified == dir_modified);
            if !fresh {
                let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
                    continue;
                };
                match monitoring::files::read_json::<CheckResult>(&path) {
                    Ok(r) => {
                        let summary = summarize(&r, modified);
                        cache.insert(
                            path.clone(),
                            Cached {
                                dir_modified,
                                modified,
                                summary,
                            },
                        );
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable monitoring report left out");
                        continue;
                    }
                }
            }
            let Some(c) = cache.get(&path) else { continue };
            runs.push((
                c.modified,
                Run {
                    series: series_of(&rel),
                    summary: c.summary.clone(),
                    path,
                },
            ));
        }
        runs.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
        let skip = runs.len().saturating_sub(MAX_RUNS);
        runs.into_iter().skip(skip).map(|(_, r)| r).collect()
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
