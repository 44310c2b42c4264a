//! Drift: captured traffic over a window against a model's baseline. One run reads the
//! capture tree (only the hour folders the window overlaps), profiles the texts with the
//! model's tokenizer ([`crate::profile`]), compares each feature ([`check`]) and writes
//! `constraint_violations.json`, `monitoring_report.json` and `report.html` ([`report`]).
//! The endpoint's in-process schedule and `sentio monitor run` both call [`run_once`].
mod check;
mod report;
pub mod stats;

pub use check::{
    check, CheckResult, CheckType, DriftTest, FeatureDrift, RunStatus, Severity, Thresholds,
    Unchecked, Violation,
};
pub use report::{html, write_outputs, ConstraintViolations, ReportContext};

use crate::baseline::Baseline;
use crate::capture::read::{hour_end, jsonl_files, visit_file};
use crate::capture::CaptureRecord;
use crate::profile::{Current, Profiler};
use crate::MonitoringError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the baselines come from.
#[derive(Clone)]
pub enum Baselines {
    /// One baseline (`statistics.json` / `constraints.json` in this folder) judges every
    /// record; texts are profiled with the tokenizer of `model_dir` (default: the
    /// baseline's parent, i.e. the artifact it belongs to).
    One {
        baseline_dir: PathBuf,
        model_dir: Option<PathBuf>,
    },
    /// Each variant and model version is judged on its own, against the baseline inside
    /// the artifact of the model version that served its records (an A/B test of two
    /// models is not drift).
    PerVersion(Arc<dyn ModelDirs>),
}

impl std::fmt::Debug for Baselines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Baselines::One {
                baseline_dir,
                model_dir,
            } => f
                .debug_struct("One")
                .field("baseline_dir", baseline_dir)
                .field("model_dir", model_dir)
                .finish(),
            Baselines::PerVersion(_) => f.write_str("PerVersion"),
        }
    }
}

/// The artifact directory of a model version (its `baseline/` and `tokenizer.json`), for
/// [`Baselines::PerVersion`]: the registry's, or the endpoint's deployed models'.
pub trait ModelDirs: Send + Sync {
    fn model_dir(&self, model_version: &str) -> Option<PathBuf>;
}

impl<F: Fn(&str) -> Option<PathBuf> + Send + Sync> ModelDirs for F {
    fn model_dir(&self, model_version: &str) -> Option<PathBuf> {
        self(model_version)
    }
}

/// One monitoring job.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Capture tree of one endpoint (or one variant's folder).
    pub capture_dir: PathBuf,
    pub baselines: Baselines,
    /// Only records newer than this (None: everything).
    pub window: Option<Duration>,
    pub thresholds: Thresholds,
    /// Where the outputs go.
    pub out_dir: PathBuf,
    /// Threads reading and profiling.
    pub threads: usize,
}

impl MonitorConfig {
    /// A job judging everything under `capture_dir` against one baseline.
    pub fn one(capture_dir: &Path, baseline_dir: &Path, out_dir: &Path) -> MonitorConfig {
        MonitorConfig {
            capture_dir: capture_dir.to_path_buf(),
            baselines: Baselines::One {
                baseline_dir: baseline_dir.to_path_buf(),
                model_dir: None,
            },
            window: None,
            thresholds: Thresholds::default(),
            out_dir: out_dir.to_path_buf(),
            threads: 2,
        }
    }
}

/// The records judged together: one variant and model version (or, with one baseline,
/// everything: `None`).
pub type GroupKey = Option<(String, String)>;

/// The result of one group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupResult {
    /// The variant and model version judged (absent with one baseline for everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    pub result: CheckResult,
}

/// Records that could not be judged, and why (no baseline for their model version).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unjudged {
    pub variant: String,
    pub model_version: String,
    pub records: u64,
    pub reason: String,
}

/// The results of one run (`monitoring_summary.json` with several groups).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MonitorRun {
    pub groups: Vec<GroupResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unjudged: Vec<Unjudged>,
}

impl MonitorRun {
    /// Every violation of every group.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.groups.iter().flat_map(|g| &g.result.violations)
    }

    /// Records judged.
    pub fn records(&self) -> u64 {
        self.groups.iter().map(|g| g.result.records).sum()
    }

    /// Whether some group had enough data to be judged.
    pub fn completed(&self) -> bool {
        self.groups
            .iter()
            .any(|g| g.result.status == RunStatus::Completed)
    }

    /// The one group's result of a run with one baseline.
    pub fn into_single(self) -> Option<CheckResult> {
        let mut g = self.groups;
        (g.len() == 1).then(|| g.remove(0).result)
    }
}

/// Runs one monitoring job and writes its outputs: with one baseline, the three files in
/// `out_dir`; per version, each group's in `out_dir/<variant>/<model version>/` and
/// `monitoring_summary.json` in `out_dir`.
pub fn run_once(cfg: &MonitorConfig) -> Result<MonitorRun, MonitoringError> {
    let now = chrono::Utc::now();
    let since = cfg
        .window
        .map(|w| now - chrono::Duration::from_std(w).unwrap_or_default());
    let (endpoint, dir_variant) = ReportContext::of_capture_dir(&cfg.capture_dir);
    let context =
        |variant: Option<String>, model_version: Option<String>, baseline: PathBuf| ReportContext {
            endpoint: endpoint.clone(),
            variant,
            model_version,
            baseline,
            capture_dir: cfg.capture_dir.clone(),
            window_from: since,
            window_to: now,
        };
    match &cfg.baselines {
        Baselines::One {
            baseline_dir,
            model_dir,
        } => {
            let baseline = Baseline::load(baseline_dir)?;
            let model_dir = model_dir
                .clone()
                .or_else(|| baseline_dir.parent().map(Path::to_path_buf));
            let profiler = match &model_dir {
                Some(d) if d.join("tokenizer.json").is_file() => Some(Arc::new(Profiler::load(d)?)),
                _ => None,
            };
            let groups = collect(&cfg.capture_dir, since, cfg.threads, &|_| None, &|_| {
                profiler.clone()
            })?;
            let current = groups.into_values().next().unwrap_or_default();
            let result = check(&baseline, &current, &cfg.thresholds);
            let version = model_dir
                .as_deref()
                .and_then(|d| models::artifact::read_version(d).ok());
            let ctx = context(dir_variant.clone(), version, baseline_dir.clone());
            write_outputs(&cfg.out_dir, &result, &ctx)?;
            Ok(MonitorRun {
                groups: vec![GroupResult {
                    variant: None,
                    model_version: None,
                    result,
                }],
                unjudged: Vec::new(),
            })
        }
        Baselines::PerVersion(dirs) => {
            let profilers = Mutex::new(HashMap::<String, Option<Arc<Profiler>>>::new());
            let profiler_of = |key: &GroupKey| {
                let (_, version) = key.as_ref()?;
                let mut cache = profilers.lock().unwrap_or_else(|p| p.into_inner());
                cache
                    .entry(version.clone())
                    .or_insert_with(|| {
                        let d = dirs.model_dir(version)?;
                        Profiler::load(&d).ok().map(Arc::new)
                    })
                    .clone()
            };
            let key_of = |r: &CaptureRecord| Some((r.variant.clone(), r.model_version.clone()));
            let groups = collect(&cfg.capture_dir, since, cfg.threads, &key_of, &profiler_of)?;
            let mut run = MonitorRun {
                groups: Vec::new(),
                unjudged: Vec::new(),
            };
            for (key, current) in groups {
                let Some((variant, version)) = key else {
                    continue;
                };
                let baseline = dirs
                    .model_dir(&version)
                    .ok_or_else(|| format!("no artifact of model version {version:?} is known"))
                    .and_then(|d| {
                        let dir = d.join("baseline");
                        Baseline::load(&dir)
                            .map(|b| (b, dir))
                            .map_err(|e| e.to_string())
                    });
                match baseline {
                    Ok((b, dir)) => {
                        let result = check(&b, &current, &cfg.thresholds);
                        let ctx = context(Some(variant.clone()), Some(version.clone()), dir);
                        write_outputs(&cfg.out_dir.join(&variant).join(&version), &result, &ctx)?;
                        run.groups.push(GroupResult {
                            variant: Some(variant),
                            model_version: Some(version),
                            result,
                        });
                    }
                    Err(reason) => run.unjudged.push(Unjudged {
                        variant,
                        model_version: version,
                        records: current.records,
                        reason,
                    }),
                }
            }
            crate::files::write_json(&cfg.out_dir.join("monitoring_summary.json"), &run)?;
            Ok(run)
        }
    }
}

/// Reads and profiles every record under `dir` newer than `since`, on `threads` threads,
/// into the groups `key` puts them in, each profiled with its group's `profiler`.
pub fn collect(
    dir: &Path,
    since: Option<chrono::DateTime<chrono::Utc>>,
    threads: usize,
    key: &(dyn Fn(&CaptureRecord) -> GroupKey + Sync),
    profiler: &(dyn Fn(&GroupKey) -> Option<Arc<Profiler>> + Sync),
) -> Result<BTreeMap<GroupKey, Current>, MonitoringError> {
    let mut files = if dir.exists() {
        jsonl_files(dir).map_err(|e| MonitoringError::io(dir, e))?
    } else {
        Vec::new()
    };
    // Files of hours that ended before the window are not opened at all: a capture tree
    // holds months of traffic, a scheduled run looks at the last minutes of it.
    if let Some(start) = since {
        files.retain(|f| hour_end(f).is_none_or(|end| end > start));
    }
    let threads = threads.clamp(1, 64);
    type Part = BTreeMap<GroupKey, (Current, Vec<CaptureRecord>)>;
    let flush = |cur: &mut Current, batch: &mut Vec<CaptureRecord>, k: &GroupKey| {
        cur.add(batch, profiler(k).as_deref());
        batch.clear();
    };
    let parts: Vec<Result<(Part, u64), MonitoringError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&PathBuf> = files.iter().skip(t).step_by(threads).collect();
                s.spawn(move || {
                    let mut part = Part::new();
                    let mut unreadable = 0;
                    for path in mine {
                        unreadable += visit_file(path, |r| {
                            if since.is_some_and(|s| r.event_metadata.inference_time < s) {
                                return;
                            }
                            let k = key(&r);
                            let (cur, batch) = part.entry(k.clone()).or_default();
                            batch.push(r);
                            if batch.len() >= BATCH {
                                flush(cur, batch, &k);
                            }
                        })
                        .map_err(|e| MonitoringError::io(path, e))?;
                    }
                    for (k, (cur, batch)) in part.iter_mut() {
                        flush(cur, batch, k);
                    }
                    Ok((part, unreadable))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(MonitoringError::Model(
                        "a capture reader thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut total: BTreeMap<GroupKey, Current> = BTreeMap::new();
    let mut unreadable = 0;
    for p in parts {
        let (part, bad) = p?;
        unreadable += bad;
        for (k, (cur, _)) in part {
            total.entry(k).or_default().merge(cur);
        }
    }
    // Lines that are not records belong to no group: every group reports them.
    if total.is_empty() {
        total.insert(None, Current::default());
    }
    for cur in total.values_mut() {
        cur.unreadable = unreadable;
    }
    Ok(total)
}

/// Records profiled at a time.
const BATCH: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, CaptureRecord, Exchange};
    use std::io::Write;

    #[test]
    fn a_window_skips_the_files_of_hours_that_ended_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let write = |hour: &str, lines: &[&[u8]]| {
            let d = dir.path().join("A").join(hour);
            std::fs::create_dir_all(&d).unwrap();
            let mut f = std::fs::File::create(d.join("part.jsonl")).unwrap();
            for l in lines {
                f.write_all(l).unwrap();
                f.write_all(b"\n").unwrap();
            }
        };
        let line = |id: &str, time: &str| {
            let e = Exchange {
                time: time.parse().unwrap(),
                ..Exchange::json("A", "v1", id, br#"{"text":"x"}"#, b"{}")
            };
            serde_json::to_vec(&CaptureRecord::new(&e, &CaptureFormat::default())).unwrap()
        };
        // Hour 09 ended before the window: never opened (its garbage line is not seen).
        write(
            "2026/11/26/09",
            &[b"garbage", &line("old", "2026-11-26T09:30:00Z")],
        );
        // Hour 10 overlaps the window: read, and its records filtered by time.
        write(
            "2026/11/26/10",
            &[
                &line("early", "2026-11-26T10:10:00Z"),
                &line("in", "2026-11-26T10:50:00Z"),
            ],
        );
        write("2026/11/26/11", &[&line("late", "2026-11-26T11:05:00Z")]);
        let all_in_one = |_: &CaptureRecord| None;
        let no_profiler = |_: &GroupKey| None;
        let since = "2026-11-26T10:30:00.000Z".parse().ok();
        let cur = collect(dir.path(), since, 1, &all_in_one, &no_profiler).unwrap();
        assert_eq!((cur[&None].records, cur[&None].unreadable), (2, 0));
        // Without a window everything is read.
        let all = collect(dir.path(), None, 2, &all_in_one, &no_profiler).unwrap();
        assert_eq!((all[&None].records, all[&None].unreadable), (4, 1));
    }
}
