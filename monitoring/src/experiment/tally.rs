//! The running totals behind an experiment report, kept so that a report over months of
//! capture costs what the records since the last report cost: per-variant counts, latency
//! histograms and prediction counts; each request's predicted labels by inference id (a
//! 64-bit hash and packed label indices, ~16 bytes a request) to join ground truth that
//! arrives later; and the latest ground truth per id (a later record replaces an earlier
//! one). [`Tally::read_new`] reads only what was appended to the capture and feedback
//! files since its last call.
use super::report::{build, ShadowReport, VariantReport};
use super::{Experiment, ExperimentReport, ReportOptions};
use crate::capture::read::{jsonl_files, read_lines_from, variant_of};
use crate::capture::CaptureRecord;
use crate::feedback::{parse_line, FeedbackRecord};
use crate::MonitoringError;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// A request's labels: one label index, or (high bit set) an index into the tally's list
/// of label vectors. [`NONE`] marks an item without a label (it failed).
type Packed = u32;
const MANY: u32 = 1 << 31;
const NONE: u16 = u16::MAX;
/// A prediction of a variant the experiment does not compare.
const OTHER: u8 = u8::MAX;

#[derive(Default)]
struct VariantTally {
    requests: u64,
    failed: u64,
    /// Latency in microseconds.
    latency: Option<Histogram<u64>>,
    predictions: BTreeMap<u16, u64>,
    labelled: u64,
    correct: u64,
}

/// Running totals of one experiment.
pub struct Tally {
    experiment: Experiment,
    labels: Vec<String>,
    label_index: HashMap<String, u16>,
    many: Vec<Vec<u16>>,
    variants: Vec<VariantTally>,
    /// Production predictions by id: (variant index or [`OTHER`], labels).
    predicted: HashMap<u64, (u8, Packed)>,
    /// The latest ground truth by id.
    truth: HashMap<u64, Packed>,
    /// Truth ids joined with a prediction.
    matched: u64,
    /// Shadow predictions whose production answer has not been read yet.
    shadow_pending: HashMap<u64, Packed>,
    shadow_compared: u64,
    shadow_agreed: u64,
    /// Bytes of each file already read.
    offsets: HashMap<PathBuf, u64>,
    /// Finished lines that were not records.
    unreadable: u64,
}

fn id_hash(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl Tally {
    pub fn new(experiment: Experiment) -> Tally {
        let variants = experiment
            .variants
            .iter()
            .map(|_| VariantTally::default())
            .collect();
        Tally {
            experiment,
            labels: Vec::new(),
            label_index: HashMap::new(),
            many: Vec::new(),
            variants,
            predicted: HashMap::new(),
            truth: HashMap::new(),
            matched: 0,
            shadow_pending: HashMap::new(),
            shadow_compared: 0,
            shadow_agreed: 0,
            offsets: HashMap::new(),
            unreadable: 0,
        }
    }

    pub fn experiment(&self) -> &Experiment {
        &self.experiment
    }

    /// Replaces the experiment record (its status or end), keeping the totals.
    pub fn set_experiment(&mut self, e: Experiment) {
        self.experiment = e;
    }

    /// Finished lines of the files read that are not records.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    fn label(&mut self, l: Option<&str>) -> u16 {
        let Some(l) = l else { return NONE };
        if let Some(&i) = self.label_index.get(l) {
            return i;
        }
        match u16::try_from(self.labels.len()).ok().filter(|&i| i < NONE) {
            Some(i) => {
                self.labels.push(l.to_string());
                self.label_index.insert(l.to_string(), i);
                i
            }
            // More than 65,534 distinct labels: the rest count as failed items.
            None => NONE,
        }
    }

    fn pack<S: AsRef<str>>(&mut self, labels: &[Option<S>]) -> Packed {
        let idx: Vec<u16> = labels
            .iter()
            .map(|l| self.label(l.as_ref().map(AsRef::as_ref)))
            .collect();
        if idx.len() == 1 {
            return u32::from(idx[0]);
        }
        self.many.push(idx);
        MANY | (self.many.len() as u32 - 1)
    }

    fn unpack(&self, p: Packed) -> Vec<u16> {
        if p & MANY == 0 {
            vec![p as u16]
        } else {
            self.many[(p & !MANY) as usize].clone()
        }
    }

    /// `(labelled, correct)` of predictions against ground truth, item by item.
    fn score(&self, predicted: Packed, truth: Packed) -> (u64, u64) {
        let (p, t) = (self.unpack(predicted), self.unpack(truth));
        let mut out = (0, 0);
        for (p, t) in p.iter().zip(&t) {
            if *p != NONE {
                out.0 += 1;
                out.1 += u64::from(p == t);
            }
        }
        out
    }

    fn compare_shadow(&mut self, production: Packed, shadow: Packed) {
        let (p, s) = (self.unpack(production), self.unpack(shadow));
        for (p, s) in p.iter().zip(&s) {
            if *p != NONE && *s != NONE {
                self.shadow_compared += 1;
                self.shadow_agreed += u64::from(p == s);
            }
        }
    }

    /// Adds one captured record (any endpoint's; records outside the experiment's window
    /// are left out).
    pub fn add_record(&mut self, r: &CaptureRecord) {
        let e = &self.experiment;
        let t = r.event_metadata.inference_time;
        if t < e.started_at || e.ended_at.is_some_and(|end| t > end) {
            return;
        }
        let id = id_hash(r.join_id());
        let labels = r.labels();
        if r.shadow {
            if e.shadow.as_deref() != Some(r.variant.as_str()) {
                return;
            }
            let shadow = self.pack(&labels);
            match self.predicted.get(&id) {
                Some(&(_, production)) => self.compare_shadow(production, shadow),
                None => {
                    self.shadow_pending.insert(id, shadow);
                }
            }
            return;
        }
        if self.predicted.contains_key(&id) {
            return; // the same request captured twice
        }
        let vi = e
            .variants
            .iter()
            .position(|v| *v == r.variant)
            .map_or(OTHER, |i| i as u8);
        let packed = self.pack(&labels);
        if vi != OTHER {
            let tally = &mut self.variants[usize::from(vi)];
            tally.requests += 1;
            tally.failed += u64::from(r.failed);
            if let Some(ms) = r.latency_ms {
                let h = tally.latency.get_or_insert_with(|| {
                    Histogram::new(3).expect("3 significant figures is a valid histogram")
                });
                h.saturating_record((ms * 1000.0).round().max(0.0) as u64);
            }
            for l in labels.iter().flatten() {
                let i = self.label(Some(l));
                *self.variants[usize::from(vi)]
                    .predictions
                    .entry(i)
                    .or_default() += 1;
            }
        }
        self.predicted.insert(id, (vi, packed));
        if let Some(&truth) = self.truth.get(&id) {
            self.matched += 1;
            if vi != OTHER {
                let (n, k) = self.score(packed, truth);
                let tally = &mut self.variants[usize::from(vi)];
                tally.labelled += n;
                tally.correct += k;
            }
        }
        if let Some(shadow) = self.shadow_pending.remove(&id) {
            self.compare_shadow(packed, shadow);
        }
    }

    /// Adds one ground-truth record; a later one for the same id replaces the earlier.
    pub fn add_feedback(&mut self, f: &FeedbackRecord) {
        let id = id_hash(&f.inference_id);
        let labels: Vec<Option<&str>> = f.labels.iter().map(|l| Some(l.as_str())).collect();
        let truth = self.pack(&labels);
        let old = self.truth.insert(id, truth);
        let Some(&(vi, predicted)) = self.predicted.get(&id) else {
            return;
        };
        if old.is_none() {
            self.matched += 1;
        }
        if vi == OTHER {
            return;
        }
        let before = old.map_or((0, 0), |o| self.score(predicted, o));
        let after = self.score(predicted, truth);
        let tally = &mut self.variants[usize::from(vi)];
        tally.labelled = tally.labelled + after.0 - before.0;
        tally.correct = tally.correct + after.1 - before.1;
    }

    /// Reads what was appended since the last call: capture files under `capture_dir`
    /// and the feedback file (or folder) `feedback`. Missing paths are empty.
    pub fn read_new(&mut self, capture_dir: &Path, feedback: &Path) -> Result<(), MonitoringError> {
        for path in list(capture_dir)? {
            let variant = variant_of(&path).map(str::to_string);
            let from = self.offsets.get(&path).copied().unwrap_or(0);
            let mut bad = 0;
            // Each record is tallied as it is read: an hour's file can be gigabytes, and
            // memory must stay what the tally keeps (~16 bytes a request).
            let to = read_lines_from(&path, from, |line, finished| {
                match serde_json::from_slice::<CaptureRecord>(line) {
                    Ok(mut r) => {
                        if r.variant.is_empty() {
                            r.variant = variant.clone().unwrap_or_default();
                        }
                        self.add_record(&r);
                        true
                    }
                    Err(_) => {
                        bad += u64::from(finished);
                        finished
                    }
                }
            })
            .map_err(|e| MonitoringError::io(&path, e))?;
            self.unreadable += bad;
            self.offsets.insert(path, to);
        }
        for path in list(feedback)? {
            let from = self.offsets.get(&path).copied().unwrap_or(0);
            let mut bad = 0;
            let to = read_lines_from(&path, from, |line, finished| match parse_line(line) {
                Ok(items) => {
                    items.iter().for_each(|f| self.add_feedback(f));
                    true
                }
                Err(_) => {
                    bad += u64::from(finished);
                    finished
                }
            })
            .map_err(|e| MonitoringError::io(&path, e))?;
            self.unreadable += bad;
            self.offsets.insert(path, to);
        }
        Ok(())
    }

    /// The report of what was read so far.
    pub fn report(&self, opts: &ReportOptions) -> ExperimentReport {
        let name = |i: &u16| {
            self.labels
                .get(usize::from(*i))
                .cloned()
                .unwrap_or_default()
        };
        let variants: BTreeMap<String, VariantReport> = self
            .experiment
            .variants
            .iter()
            .zip(&self.variants)
            .map(|(v, t)| {
                let q = |q: f64| {
                    t.latency
                        .as_ref()
                        .map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1000.0)
                };
                let report = VariantReport {
                    requests: t.requests,
                    failed: t.failed,
                    latency_ms: [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)]
                        .into_iter()
                        .map(|(k, x)| (k.to_string(), q(x)))
                        .collect(),
                    predictions: t.predictions.iter().map(|(l, n)| (name(l), *n)).collect(),
                    labelled: t.labelled,
                    correct: t.correct,
                    accuracy: None,
                    accuracy_ci95: None,
                };
                (v.clone(), report)
            })
            .collect();
        let shadow = self.experiment.shadow.as_ref().map(|s| ShadowReport {
            shadow: s.clone(),
            compared: self.shadow_compared,
            agreed: self.shadow_agreed,
            agreement_rate: (self.shadow_compared > 0)
                .then(|| self.shadow_agreed as f64 / self.shadow_compared as f64),
        });
        let unknown = self.truth.len() as u64 - self.matched;
        build(&self.experiment, variants, shadow, unknown, opts)
    }
}

/// The `.jsonl` files of a folder (recursively), or the file itself; nothing if missing.
fn list(path: &Path) -> Result<Vec<PathBuf>, MonitoringError> {
    if path.is_dir() {
        jsonl_files(path).map_err(|e| MonitoringError::io(path, e))
    } else if path.is_file() {
        Ok(vec![path.to_path_buf()])
    } else {
        Ok(Vec::new())
    }
}
