//! Where Sentio keeps its state: the typed form of `SENTIO_HOME`. The CLI layer reads the
//! environment once and passes a [`Home`] down; nothing below it reads the environment.
use crate::error::{PipelineError, Result};
use std::path::{Path, PathBuf};

/// The Sentio home directory (`sentio.db`, `artifacts/`, `executions/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The SQLite metadata store.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("sentio.db")
    }
    /// The content-addressed artifact store.
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
}

/// The code that runs steps: part of every cache key and of lineage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeVersion {
    pub crate_version: String,
    pub git_commit: Option<String>,
}

impl CodeVersion {
    /// This build: the crate version plus the git commit baked in at build time
    /// (`SENTIO_GIT_COMMIT`), else the commit of the working directory when it is a git
    /// checkout.
    pub fn detect() -> Self {
        let git_commit = option_env!("SENTIO_GIT_COMMIT")
            .map(str::to_string)
            .or_else(|| {
                std::process::Command::new("git")
                    .args(["rev-parse", "--short=12", "HEAD"])
                    .stderr(std::process::Stdio::null())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .filter(|s| !s.is_empty())
            });
        CodeVersion {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit,
        }
    }
}

impl std::fmt::Display for CodeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.git_commit {
            Some(c) => write!(f, "{}+{c}", self.crate_version),
            None => write!(f, "{}", self.crate_version),
        }
    }
}
