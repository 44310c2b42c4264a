//! `.sentio-template.json`: what `sentio init` wrote into a project — the sentio version,
//! the template, the name and a digest of every generated file — so that `--check` can
//! tell what a newer sentio would change and which files the project's owners changed.
use super::render::File;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest's file name, at the project's root.
pub const MANIFEST: &str = ".sentio-template.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "sentio init".
    pub generator: String,
    /// The sentio version that wrote the project.
    pub sentio_version: String,
    /// The template's name (`build-train-deploy`, `build-train`, `deploy`).
    pub template: String,
    /// The project's name (`--name`).
    pub name: String,
    /// Path (with `/`) → `sha256:<hex>` of the bytes written.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    pub fn new(template: &str, name: &str, sentio_version: &str, files: &[File]) -> Self {
        Manifest {
            generator: "sentio init".into(),
            sentio_version: sentio_version.into(),
            template: template.into(),
            name: name.into(),
            files: files
                .iter()
                .map(|f| (f.path.clone(), digest(&f.bytes)))
                .collect(),
        }
    }

    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(self)?;
        out.push(b'\n');
        Ok(out)
    }

    /// Reads `DIR/.sentio-template.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "{} has no {MANIFEST}: it was not made by sentio init (or the file was removed)",
                dir.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid manifest", path.display()))
    }
}

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_a_manifest() {
        let files = vec![File {
            path: "a/b.txt".into(),
            bytes: b"hello".to_vec(),
            executable: false,
        }];
        let m = Manifest::new("deploy", "x", "1.2.3", &files);
        assert_eq!(
            m.files["a/b.txt"],
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not made by sentio init"), "{e}");
        std::fs::write(dir.path().join(MANIFEST), m.to_bytes().unwrap()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);
        std::fs::write(dir.path().join(MANIFEST), b"{\"generator\": 1}").unwrap();
        let e = format!("{:#}", Manifest::read(dir.path()).unwrap_err());
        assert!(e.contains("not a valid manifest"), "{e}");
    }
}
