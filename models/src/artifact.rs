//! The model artifact: one directory with everything needed to serve a model.
//!
//! ```text
//! config.json        ArtifactConfig: architecture + sizes, labels, max_len
//! tokenizer.json     the tokenizer (tokenizers crate format)
//! model.safetensors  the weights
//! labels.json        the label names, in output order
//! evaluation.json    metrics (written by training)
//! evaluation.html    the same as a page with charts (written beside evaluation.json)
//! metadata.json      versions, data digest, hyperparameters (written by training)
//! manifest.json      sha256 of every file above: loading refuses an artifact whose files
//!                    do not match it
//! ```
//! The model version (`sha256-…`) is a digest of what determines predictions only —
//! config.json, tokenizer.json, model.safetensors and labels.json — so the same weights
//! have the same version whatever evaluation, metadata or baseline travel with them
//! (training and registration agree; identical weights are one version).
//! Writing is atomic: everything goes to a temporary sibling directory that is fsynced and
//! renamed into place, so a partial artifact is never visible.
use crate::arch::ModelConfig;
use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FORMAT_VERSION: u32 = 1;
pub const CONFIG: &str = "config.json";
pub const TOKENIZER: &str = "tokenizer.json";
pub const WEIGHTS: &str = "model.safetensors";
pub const LABELS: &str = "labels.json";
pub const EVALUATION: &str = "evaluation.json";
pub const EVALUATION_HTML: &str = "evaluation.html";
pub const METADATA: &str = "metadata.json";
pub const MANIFEST: &str = "manifest.json";
/// The files whose content is the model version.
pub const PREDICTIVE: [&str; 4] = [CONFIG, LABELS, WEIGHTS, TOKENIZER];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactConfig {
    pub format_version: u32,
    pub model: ModelConfig,
    pub labels: Vec<String>,
    pub max_len: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Relative path → sha256 (hex).
    pub files: BTreeMap<String, String>,
}

/// sha256 of a file, streamed.
pub fn file_digest(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Longest input (tokens) an artifact may ask for.
const MAX_LEN: usize = crate::arch::bounds::MAX_POSITIONS;

/// The sizes `config.json` gives, against sane bounds and against the weights file (which
/// must be large enough to hold every parameter, at 2 bytes each at least): checked before
/// any tensor is allocated, so a crafted configuration is a clear error, not an
/// allocation of petabytes.
fn check_sizes(dir: &Path, config: &ArtifactConfig) -> Result<()> {
    let bad = |e: ModelError| ModelError::Corrupt {
        path: dir.to_path_buf(),
        reason: format!("{CONFIG}: {e}"),
    };
    config.model.check(config.labels.len()).map_err(bad)?;
    if config.max_len == 0 || config.max_len > MAX_LEN {
        return Err(bad(ModelError::Config(format!(
            "max_len is {}; it must be between 1 and {MAX_LEN}",
            config.max_len
        ))));
    }
    let weights = dir.join(WEIGHTS);
    let len = std::fs::metadata(&weights)
        .map_err(|e| ModelError::io(&weights, e))?
        .len();
    let needed = config.model.min_parameters(config.labels.len()) * 2;
    if u128::from(len) < needed {
        return Err(ModelError::Mismatch {
            path: dir.to_path_buf(),
            reason: format!(
                "{CONFIG} describes a {} model of at least {needed} bytes of weights, but \
                 {WEIGHTS} has {len}",
                config.model.name()
            ),
        });
    }
    Ok(())
}

/// A verified artifact directory.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub dir: PathBuf,
    pub config: ArtifactConfig,
    pub manifest: Manifest,
    /// sha256 of manifest.json: the content address of the whole artifact.
    pub digest: String,
    /// sha256 over the digests of the [`PREDICTIVE`] files: what the version names.
    pub model_digest: String,
}

impl Artifact {
    /// Opens an artifact and checks every file against the manifest.
    pub fn open(dir: &Path) -> Result<Self> {
        let corrupt = |reason: String| ModelError::Corrupt {
            path: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(ModelError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let mpath = dir.join(MANIFEST);
        let mbytes =
            std::fs::read(&mpath).map_err(|e| corrupt(format!("cannot read {MANIFEST}: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&mbytes)
            .map_err(|e| corrupt(format!("{MANIFEST} is not valid: {e}")))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(ModelError::Mismatch {
                path: dir.to_path_buf(),
                reason: format!(
                    "format version {} (this build reads {FORMAT_VERSION})",
                    manifest.format_version
                ),
            });
        }
        for required in [CONFIG, TOKENIZER, WEIGHTS, LABELS] {
            if !manifest.files.contains_key(required) {
                return Err(corrupt(format!("{MANIFEST} does not list {required}")));
            }
        }
        for (name, want) in &manifest.files {
            let p = dir.join(name);
            if !p.exists() {
                return Err(corrupt(format!("{name} is missing")));
            }
            let got = file_digest(&p)?;
            if &got != want {
                return Err(corrupt(format!(
                    "{name} has sha256 {got}, the manifest says {want}"
                )));
            }
        }
        let cpath = dir.join(CONFIG);
        let config: ArtifactConfig =
            serde_json::from_slice(&std::fs::read(&cpath).map_err(|e| ModelError::io(&cpath, e))?)
                .map_err(|e| ModelError::json(&cpath, e))?;
        check_sizes(dir, &config)?;
        let lpath = dir.join(LABELS);
        let labels: Vec<String> =
            serde_json::from_slice(&std::fs::read(&lpath).map_err(|e| ModelError::io(&lpath, e))?)
                .map_err(|e| ModelError::json(&lpath, e))?;
        if labels != config.labels {
            return Err(ModelError::Mismatch {
                path: dir.to_path_buf(),
                reason: format!(
                    "{LABELS} {labels:?} differs from {CONFIG} {:?}",
                    config.labels
                ),
            });
        }
        let model_digest = model_digest(&manifest);
        Ok(Artifact {
            dir: dir.to_path_buf(),
            config,
            manifest,
            digest: hex::encode(Sha256::digest(&mbytes)),
            model_digest,
        })
    }

    /// A short, stable model version id: the digest of what determines predictions.
    pub fn version(&self) -> String {
        short_version(&self.model_digest)
    }

    pub fn read_json(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let p = self.dir.join(name);
        if !p.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&p).map_err(|e| ModelError::io(&p, e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ModelError::json(&p, e))
    }
}

/// sha256 of `name:digest` lines of the [`PREDICTIVE`] files (in that order).
fn model_digest(manifest: &Manifest) -> String {
    digest_of_predictive(&manifest.files)
}

fn digest_of_predictive(files: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for name in PREDICTIVE {
        let d = files.get(name).map(String::as_str).unwrap_or("");
        h.update(format!("{name}:{d}\n").as_bytes());
    }
    hex::encode(h.finalize())
}

/// The version of the artifact in `dir`, from its manifest alone (no file is verified):
/// for reports that name the model a baseline belongs to.
pub fn read_version(dir: &Path) -> Result<String> {
    let p = dir.join(MANIFEST);
    let bytes = std::fs::read(&p).map_err(|e| ModelError::io(&p, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| ModelError::json(&p, e))?;
    Ok(short_version(&model_digest(&manifest)))
}

pub fn short_version(digest: &str) -> String {
    format!("sha256-{}", &digest[..digest.len().min(12)])
}

/// Builds an artifact in a temporary directory and moves it into place on `finish`.
pub struct ArtifactWriter {
    tmp: PathBuf,
    dest: PathBuf,
    files: BTreeMap<String, String>,
    finished: bool,
}

impl ArtifactWriter {
    pub fn new(dest: &Path) -> Result<Self> {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
        let name = dest
            .file_name()
            .ok_or_else(|| ModelError::Config(format!("bad artifact path {}", dest.display())))?
            .to_string_lossy()
            .into_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| ModelError::io(&tmp, e))?;
        Ok(ArtifactWriter {
            tmp,
            dest: dest.to_path_buf(),
            files: BTreeMap::new(),
            finished: false,
        })
    }

    /// Path inside the temporary directory, for writers that need a file name.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Records a file that was written at [`Self::path`].
    pub fn add_written(&mut self, name: &str) -> Result<()> {
        let p = self.path(name);
        let f = std::fs::File::open(&p).map_err(|e| ModelError::io(&p, e))?;
        f.sync_all().map_err(|e| ModelError::io(&p, e))?;
        self.files.insert(name.to_string(), file_digest(&p)?);
        Ok(())
    }

    pub fn write_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| ModelError::io(&p, e))?;
        self.add_written(name)
    }

    /// The model version of the [`PREDICTIVE`] files written so far (the finished
    /// artifact's version once all of them are).
    pub fn version(&self) -> String {
        short_version(&digest_of_predictive(&self.files))
    }

    pub fn write_json<T: Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| ModelError::json(name, e))?;
        self.write_bytes(name, &bytes)
    }

    /// Writes the manifest, fsyncs and renames the directory into place (replacing an older
    /// artifact at the same path). Returns the opened artifact.
    pub fn finish(mut self) -> Result<Artifact> {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            files: self.files.clone(),
        };
        let bytes =
            serde_json::to_vec_pretty(&manifest).map_err(|e| ModelError::json(MANIFEST, e))?;
        let mp = self.path(MANIFEST);
        std::fs::write(&mp, bytes).map_err(|e| ModelError::io(&mp, e))?;
        if let Ok(d) = std::fs::File::open(&self.tmp) {
            let _ = d.sync_all();
        }
        if self.dest.exists() {
            let old = self.tmp.with_extension("old");
            std::fs::rename(&self.dest, &old).map_err(|e| ModelError::io(&self.dest, e))?;
            std::fs::rename(&self.tmp, &self.dest).map_err(|e| ModelError::io(&self.dest, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.tmp, &self.dest).map_err(|e| ModelError::io(&self.dest, e))?;
        }
        self.finished = true;
        Artifact::open(&self.dest)
    }
}

impl Drop for ArtifactWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
