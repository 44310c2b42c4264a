//! Where ground truth goes while serving (`POST /feedback`): a bounded index of recent
//! captured predictions (to answer which ids matched) and the append-only feedback file,
//! in `monitoring::feedback`'s record shape.
use monitoring::feedback::FeedbackRecord;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
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

/// The feedback file of an endpoint: `<state>/feedback/<endpoint>.jsonl`.
pub struct FeedbackStore {
    path: PathBuf,
    lock: Mutex<()>,
}

/// Feedback of a serving endpoint: its index of captured ids and its file.
pub struct Feedback {
    pub index: FeedbackIndex,
    pub store: Arc<FeedbackStore>,
}

/// Captured ids remembered for `POST /feedback`'s matched/unknown answer.
const INDEX_SIZE: usize = 200_000;

impl Feedback {
    pub fn new(state_dir: &std::path::Path, endpoint: &str) -> Self {
        Feedback {
            index: FeedbackIndex::new(INDEX_SIZE),
            store: Arc::new(FeedbackStore::new(state_dir, endpoint)),
        }
    }
}

impl FeedbackStore {
    pub fn new(state_dir: &std::path::Path, endpoint: &str) -> Self {
        FeedbackStore {
            path: state_dir.join("feedback").join(format!("{endpoint}.jsonl")),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends records (one write per call; blocking — call off the async executor).
    pub fn append(&self, records: &[FeedbackRecord]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
        }
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&buf)?;
        f.sync_data()
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
}
