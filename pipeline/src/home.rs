//! Where Sentio keeps its state: the typed form of `SENTIO_HOME`. The binary reads the
//! environment once and passes a [`Home`] down; nothing below it reads the environment.
//! [`Home::open_stores`] is the one place where the stores of a home are opened.
use crate::error::{PipelineError, Result};
use crate::store::{
    ArtifactStore, FsArtifactStore, MetadataStore, PgStore, S3ArtifactStore, SqliteStore,
    StoreConfig, Stores,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Staging folders without an owner's lock (an older layout) are removed once this old.
const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The Sentio home directory (`sentio.db`, `artifacts/`, `executions/`), and which
/// backends its stores use (the embedded defaults unless [`Home::with_stores`] says
/// otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
    stores: StoreConfig,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home {
            root: root.into(),
            stores: StoreConfig::default(),
        }
    }
    /// The same home with its stores on other backends (PostgreSQL, object storage).
    pub fn with_stores(mut self, stores: StoreConfig) -> Self {
        self.stores = stores;
        self
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn store_config(&self) -> &StoreConfig {
        &self.stores
    }
    /// The SQLite metadata store (unused when the metadata is on PostgreSQL).
    pub fn db_path(&self) -> PathBuf {
        self.root.join("sentio.db")
    }
    /// The content-addressed artifact store (with object storage: its local cache).
    pub fn artifacts_dir(&self) -> PathBuf {
        self.root.join("artifacts")
    }
    /// One pipeline manifest (JSON) per execution.
    pub fn manifests_dir(&self) -> PathBuf {
        self.root.join("executions")
    }
    /// Creates the directories.
    pub fn ensure(&self) -> Result<()> {
        for d in [self.artifacts_dir(), self.manifests_dir()] {
            std::fs::create_dir_all(&d).map_err(|e| PipelineError::io(&d, e))?;
        }
        Ok(())
    }

    /// Opens (creating, migrating) the metadata and artifact stores of this home: SQLite
    /// in `sentio.db`, or PostgreSQL at the configured URL; the content-addressed folder
    /// `artifacts/`, or S3-compatible object storage with that folder as its local cache.
    /// Another backend is a store implementing the traits plus its choice here; nothing
    /// else opens stores.
    /// Staging folders left by processes that are gone (killed mid-step) are removed here,
    /// at start-up.
    pub fn open_stores(&self) -> Result<Stores> {
        self.stores.check()?;
        self.ensure()?;
        let metadata: Arc<dyn MetadataStore> = match &self.stores.database_url {
            Some(url) => Arc::new(PgStore::connect(url)?),
            None => Arc::new(SqliteStore::open(&self.db_path())?),
        };
        let local = FsArtifactStore::new(self.artifacts_dir());
        let cleaned = local.clean_staging(STALE_STAGING);
        if cleaned > 0 {
            tracing::info!(cleaned, "removed staging folders left by interrupted runs");
        }
        let artifacts: Arc<dyn ArtifactStore> = match &self.stores.artifact_store {
            Some(url) => Arc::new(S3ArtifactStore::open(
                url,
                &self.stores.object_store_options,
                local,
            )?),
            None => Arc::new(local),
        };
        Ok(Stores {
            metadata,
            artifacts,
        })
    }
}

/// The code that runs steps: part of every cache key and of lineage. It is fixed when
/// the binary is built (see `build.rs`), so it does not depend on the directory a run
/// starts in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeVersion {
    pub crate_version: String,
    /// The git commit the binary was built from, when it was built in a checkout.
    pub git_commit: Option<String>,
    /// sha256 (16 hex digits) over the sources of `pipeline`, `train` and `models` at
    /// build time: tells apart builds of uncommitted changes.
    #[serde(default)]
    pub source_digest: Option<String>,
}

impl CodeVersion {
    /// This build: the crate version, the git commit and the source digest recorded by
    /// `build.rs`.
    pub fn current() -> Self {
        let commit = env!("SENTIO_BUILD_GIT_COMMIT");
        CodeVersion {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: (!commit.is_empty()).then(|| commit.to_string()),
            source_digest: Some(env!("SENTIO_SOURCE_DIGEST").to_string()),
        }
    }
}

/// `0.1.0`, `0.1.0+<commit>`, `0.1.0+<commit>.src-<digest>` (semver build metadata).
impl std::fmt::Display for CodeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.crate_version)?;
        let mut sep = '+';
        if let Some(c) = &self.git_commit {
            write!(f, "{sep}{c}")?;
            sep = '.';
        }
        if let Some(d) = &self.source_digest {
            write!(f, "{sep}src-{d}")?;
        }
        Ok(())
    }
}
