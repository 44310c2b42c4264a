//! Where ground truth goes while serving (`POST /feedback`): a bounded index of recent
//! captured predictions (to answer which ids matched and which variant's classes a label
//! must be one of), the append-only, rotated feedback files in `monitoring::feedback`'s
//! record shape, and a rate limit.
use monitoring::feedback::FeedbackRecord;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// Recently captured inference ids → variant, bounded (oldest forgotten first). One
/// allocation per id (shared by the map and the age queue); variants are interned.
pub struct FeedbackIndex {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    ids: FxHashMap<Arc<str>, u32>,
    order: VecDeque<Arc<str>>,
    variants: Vec<String>,
}

impl FeedbackIndex {
    pub fn new(cap: usize) -> Self {
        FeedbackIndex {
            cap: cap.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn insert(&self, inference_id: &str, variant: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *g;
        let v = match inner.variants.iter().position(|x| x == variant) {
            Some(i) => i as u32,
            None => {
                inner.variants.push(variant.to_string());
                (inner.variants.len() - 1) as u32
            }
        };
        if let Some(known) = inner.ids.get_mut(inference_id) {
            *known = v;
            return;
        }
        let id: Arc<str> = Arc::from(inference_id);
        inner.ids.insert(id.clone(), v);
        inner.order.push_back(id);
        while inner.order.len() > self.cap {
            if let Some(old) = inner.order.pop_front() {
                inner.ids.remove(&old);
            }
        }
    }

    pub fn variant_of(&self, inference_id: &str) -> Option<String> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let v = *g.ids.get(inference_id)?;
        g.variants.get(v as usize).cloned()
    }
}

/// The feedback files of an endpoint: `<state>/feedback/<endpoint>/NNNNNN.jsonl`, a new
/// file once one holds [`ROTATE_BYTES`] (readers read the folder in name order).
pub struct FeedbackStore {
    dir: PathBuf,
    inner: Mutex<Option<(u32, u64)>>,
}

/// Size at which the feedback file is rotated.
pub const ROTATE_BYTES: u64 = 64 * 1024 * 1024;

impl FeedbackStore {
    pub fn new(state_dir: &std::path::Path, endpoint: &str) -> Self {
        FeedbackStore {
            dir: monitoring::experiment::feedback_dir(state_dir, endpoint),
            inner: Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The newest file's number and size (scanning the folder the first time).
    fn current(&self, slot: &mut Option<(u32, u64)>) -> std::io::Result<(u32, u64)> {
        if let Some(c) = *slot {
            return Ok(c);
        }
        std::fs::create_dir_all(&self.dir)?;
        let mut newest = (1, 0);
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let n = name
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(n) = n.filter(|&n| n >= newest.0) {
                newest = (n, entry.metadata()?.len());
            }
        }
        *slot = Some(newest);
        Ok(newest)
    }

    /// Appends records (one write per call; blocking — call off the async executor).
    pub fn append(&self, records: &[FeedbackRecord]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
        }
        let mut slot = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (mut n, mut size) = self.current(&mut slot)?;
        if size > 0 && size + buf.len() as u64 > ROTATE_BYTES {
            n += 1;
            size = 0;
        }
        let path = self.dir.join(format!("{n:06}.jsonl"));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(&buf)?;
        f.sync_data()?;
        *slot = Some((n, size + buf.len() as u64));
        Ok(())
    }
}

/// Feedback of a serving endpoint: its index of captured ids, its files, what it was sent
/// and a rate limit.
pub struct Feedback {
    pub index: FeedbackIndex,
    pub store: Arc<FeedbackStore>,
    /// Ids that already had ground truth (recent ones), to count replacements.
    labelled: FeedbackIndex,
    /// Labels accepted since start (the retraining trigger counts them).
    pub received: AtomicU64,
    limiter: Mutex<Bucket>,
}

/// Captured ids remembered for `POST /feedback`'s matched/unknown answer.
const INDEX_SIZE: usize = 200_000;

/// A token bucket: `rate` tokens a second, at most `burst` saved.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: std::time::Instant,
}

impl Feedback {
    /// `rate`: ground-truth records accepted per second on average (bursts up to ten
    /// seconds' worth); beyond it `POST /feedback` answers 429.
    pub fn new(state_dir: &std::path::Path, endpoint: &str, rate: f64) -> Self {
        let rate = rate.max(1.0);
        Feedback {
            index: FeedbackIndex::new(INDEX_SIZE),
            store: Arc::new(FeedbackStore::new(state_dir, endpoint)),
            labelled: FeedbackIndex::new(INDEX_SIZE),
            received: AtomicU64::new(0),
            limiter: Mutex::new(Bucket {
                rate,
                burst: rate * 10.0,
                tokens: rate * 10.0,
                at: std::time::Instant::now(),
            }),
        }
    }

    /// Takes `n` records from the rate limit; `false` when over it.
    pub fn admit(&self, n: usize) -> bool {
        let mut b = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * b.rate).min(b.burst);
        b.at = now;
        if b.tokens >= n as f64 {
            b.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    /// Marks ids as labelled; returns how many already were (replacements).
    pub fn note_labelled(&self, records: &[FeedbackRecord]) -> u64 {
        let mut replaced = 0;
        for r in records {
            replaced += u64::from(self.labelled.variant_of(&r.inference_id).is_some());
            self.labelled.insert(&r.inference_id, "");
        }
        replaced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_newest_ids_and_their_variants() {
        let index = FeedbackIndex::new(3);
        index.insert("a", "A");
        index.insert("b", "B");
        index.insert("c", "A");
        assert_eq!(index.variant_of("a").as_deref(), Some("A"));
        assert_eq!(index.variant_of("b").as_deref(), Some("B"));
        // Re-inserting an id updates it without aging anything out.
        index.insert("b", "A");
        assert_eq!(index.variant_of("b").as_deref(), Some("A"));
        assert_eq!(index.variant_of("a").as_deref(), Some("A"));
        // A fourth id forgets the oldest.
        index.insert("d", "B");
        assert_eq!(index.variant_of("a"), None);
        assert_eq!(index.variant_of("d").as_deref(), Some("B"));
        assert_eq!(index.variant_of("unknown"), None);
    }

    #[test]
    fn the_store_rotates_and_the_limit_admits_its_rate() {
        let dir = tempfile::tempdir().unwrap();
        let store = FeedbackStore::new(dir.path(), "ep");
        let r = FeedbackRecord {
            inference_id: "a".into(),
            labels: vec!["pos".into()],
            at: None,
        };
        store.append(std::slice::from_ref(&r)).unwrap();
        *store.inner.lock().unwrap() = Some((1, ROTATE_BYTES));
        store.append(&[r]).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["000001.jsonl", "000002.jsonl"]);
        let set = monitoring::feedback::read_feedback(store.dir()).unwrap();
        assert_eq!((set.records.len(), set.replaced), (1, 1));
        // A fresh handle on the folder continues the newest file.
        let again = FeedbackStore::new(dir.path(), "ep");
        assert_eq!(again.current(&mut None).unwrap().0, 2);

        let f = Feedback::new(dir.path(), "ep", 10.0);
        assert!(f.admit(100), "a burst of ten seconds' worth");
        assert!(!f.admit(1), "then the limit");
    }
}
