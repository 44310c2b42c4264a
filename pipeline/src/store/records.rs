//! Rows of the metadata store.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// RFC 3339 UTC with milliseconds; sorts as text.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

macro_rules! text_enum {
    ($name:ident { $($v:ident),* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $($v),* }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => stringify!($v)),* }
            }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $(stringify!($v) => Ok($name::$v),)*
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(ExecutionStatus {
    Executing,
    Succeeded,
    Failed
});
text_enum!(StepStatus {
    Executing,
    Succeeded,
    Failed,
    Cached,
    Skipped
});
text_enum!(ApprovalStatus {
    PendingManualApproval,
    Approved,
    Rejected
});

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub id: String,
    pub pipeline: String,
    pub status: ExecutionStatus,
    pub parameters: Value,
    pub definition: Value,
    pub code_version: String,
    /// Why it ran: "manual", "watch: new file …", "drift: …".
    pub trigger: String,
    /// The process running it; 0 when its steps run one by one elsewhere (`run-step`).
    pub pid: u32,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub failure_reason: Option<String>,
    pub manifest: Option<Value>,
}

impl ExecutionRecord {
    /// Executing, but the process that ran it is gone (killed or crashed). An execution
    /// whose steps run one by one elsewhere (`run-step`, pid 0) is never judged so.
    pub fn interrupted(&self) -> bool {
        self.status == ExecutionStatus::Executing
            && self.pid != 0
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: i64,
    pub execution_id: String,
    pub step: String,
    pub kind: String,
    pub status: StepStatus,
    pub cache_key: Option<String>,
    /// What the cache key was computed from: type, config, input digests, code version.
    pub key_parts: Option<Value>,
    /// Why the step was or wasn't answered from the cache.
    pub cache_decision: Option<String>,
    /// The execution whose outputs a Cached step reused.
    pub cached_from: Option<String>,
    /// Output name → artifact digest.
    pub outputs: BTreeMap<String, String>,
    pub properties: Value,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_s: Option<f64>,
    pub log_excerpt: String,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactRecord {
    pub digest: String,
    pub step: String,
    pub output: String,
    pub execution_id: String,
    /// Input digests of the step that produced it.
    pub parents: BTreeMap<String, String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewVersion {
    pub group: String,
    pub version: String,
    pub artifact_digest: String,
    pub status: ApprovalStatus,
    pub metrics: Value,
    pub lineage: Value,
    pub execution_id: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelVersion {
    pub version: String,
    pub group: String,
    /// 1, 2, … within the group.
    pub number: i64,
    pub artifact_digest: String,
    pub status: ApprovalStatus,
    pub metrics: Value,
    pub lineage: Value,
    pub execution_id: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryEvent {
    pub id: i64,
    pub at: String,
    pub group: String,
    pub version: String,
    /// registered, approved, rejected, deployed.
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: String,
    pub note: String,
    pub endpoint: Option<String>,
    pub variant: Option<String>,
}

/// A `sentio serve` endpoint started with this home: where it listens and where its
/// capture, state and monitor folders are (for the console; never shown to users).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub name: String,
    /// `http://host:port` it answers on.
    pub url: String,
    pub pid: u32,
    pub started_at: String,
    /// Set when it shut down; None while it runs (or if it was killed).
    pub stopped_at: Option<String>,
    /// Whether its management API (`/v1/admin`) is enabled.
    pub management: bool,
    /// Its capture tree (`<capture-dir>/<endpoint>`).
    pub capture_dir: Option<std::path::PathBuf>,
    /// Its state directory (experiments, feedback).
    pub state_dir: Option<std::path::PathBuf>,
    /// Where its drift monitor writes reports.
    pub monitor_dir: Option<std::path::PathBuf>,
}

impl EndpointRecord {
    /// Recorded as running, but its process is gone (killed or crashed).
    pub fn gone(&self) -> bool {
        self.stopped_at.is_none()
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// One page of a longer list, and the length of the whole list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
}
