//! Where feedback goes while serving: a bounded index of recent captured predictions
//! (to answer which ids matched) and the append-only feedback file.
use super::FeedbackRecord;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Recently captured inference ids → variant, bounded (oldest forgotten first).
pub struct FeedbackIndex {
    cap: usize,
    inner: Mutex<(HashMap<String, String>, VecDeque<String>)>,
}

impl FeedbackIndex {
    pub fn new(cap: usize) -> Self {
        FeedbackIndex {
            cap: cap.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub fn insert(&self, inference_id: &str, variant: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *g;
        if map
            .insert(inference_id.to_string(), variant.to_string())
            .is_none()
        {
            order.push_back(inference_id.to_string());
            while order.len() > self.cap {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }

    pub fn variant_of(&self, inference_id: &str) -> Option<String> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0.get(inference_id).cloned()
    }
}

/// The feedback file of an endpoint: `<state>/feedback/<endpoint>.jsonl`.
pub struct FeedbackStore {
    path: PathBuf,
    lock: Mutex<()>,
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
