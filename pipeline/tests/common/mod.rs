#![allow(dead_code)]
pub mod servers;

use pipeline::{CodeVersion, ExecutorConfig, Home, PipelineDef, RunRequest, StoreConfig, Stores};
use std::path::{Path, PathBuf};

/// Where a test's stores are: the embedded defaults (SQLite, a local folder), or the
/// shared ones (PostgreSQL, S3-compatible object storage on moto).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    PostgresS3,
}

/// `#[test]`s `NAME::local` and `NAME::postgres_s3` for each `fn NAME(backend: Backend)`
/// (`#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn local() {
                super::$name(crate::common::Backend::Local)
            }
            #[test]
            fn postgres_s3() {
                super::$name(crate::common::Backend::PostgresS3)
            }
        }
    )*};
}

/// Fresh stores of this backend: a new database and bucket for the shared one.
pub fn store_config(backend: Backend) -> StoreConfig {
    match backend {
        Backend::Local => StoreConfig::default(),
        Backend::PostgresS3 => {
            let moto = servers::moto();
            StoreConfig {
                database_url: Some(servers::postgres().fresh_database()),
                artifact_store: Some(format!("s3://{}/sentio", moto.fresh_bucket())),
                object_store_options: moto.options(),
            }
        }
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cfg: ExecutorConfig,
    pub stores: Stores,
    pub data: PathBuf,
    pub backend: Backend,
}

impl Env {
    /// Runs SQL on the metadata store, bypassing it (to stage what a crash leaves).
    pub fn sql(&self, sql: &str) {
        match &self.cfg.home.store_config().database_url {
            Some(url) => {
                servers::postgres().sql(url, sql);
            }
            None => rusqlite::Connection::open(self.cfg.home.db_path())
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }

    /// SQL that lifts the registry history's append-only guard.
    pub fn drop_history_guard(&self) -> &'static str {
        match self.backend {
            Backend::Local => "DROP TRIGGER registry_events_append_only_d;",
            Backend::PostgresS3 => "DROP TRIGGER registry_events_append_only ON registry_events;",
        }
    }

    /// Another home (its own local files and cache) on the same stores, as another
    /// machine sharing them would have.
    pub fn other_home(&self, name: &str) -> Home {
        Home::new(self.dir.path().join(name)).with_stores(self.cfg.home.store_config().clone())
    }
}

pub fn env(rows: usize, seed: u64) -> Env {
    env_on(Backend::Local, rows, seed)
}

pub fn env_on(backend: Backend, rows: usize, seed: u64) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("reviews.csv");
    train::demo::write_csv(&data, rows, seed).unwrap();
    let home = Home::new(dir.path().join("home")).with_stores(store_config(backend));
    let mut cfg = ExecutorConfig::new(home);
    cfg.code_version = CodeVersion {
        crate_version: "0.1.0".into(),
        git_commit: Some("aaaaaaa".into()),
        source_digest: None,
    };
    let stores = cfg.home.open_stores().unwrap();
    Env {
        dir,
        cfg,
        stores,
        data,
        backend,
    }
}

/// Tiny fastText settings so a train step takes a second or two.
pub fn fast(data: &Path) -> Vec<(String, String)> {
    [
        ("input_data", data.display().to_string()),
        ("epochs", "2".into()),
        ("dim", "16".into()),
        ("bigram_buckets", "5000".into()),
        ("vocab_size", "2000".into()),
        ("max_len", "64".into()),
        ("device", "cpu".into()),
        ("min_accuracy", "0.0".into()),
        ("max_duplicate_share", "0.5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn request(data: &Path, extra: &[(&str, &str)]) -> RunRequest {
    let mut r = RunRequest::new(PipelineDef::default_pipeline());
    r.overrides = fast(data);
    r.overrides
        .extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    r
}

pub fn step<'a>(s: &'a pipeline::ExecutionSummary, name: &str) -> &'a pipeline::StepSummary {
    s.steps.iter().find(|x| x.name == name).unwrap()
}

/// `pipeline describe` of an execution, as text.
pub fn describe(e: &Env, id: &str) -> String {
    let store = &*e.stores.metadata;
    let rec = store.execution(id).unwrap().unwrap();
    pipeline::describe::describe_text(store, &rec).unwrap()
}
