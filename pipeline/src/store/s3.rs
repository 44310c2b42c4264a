//! The artifact store in S3-compatible object storage (`s3://bucket/prefix`), through the
//! `object_store` crate, for machines that share artifacts (pipeline steps in pods, serving
//! replicas, several people's homes).
//!
//! Layout under the prefix: `<digest>/<path>` for each file of an artifact, then
//! `<digest>.json` (its index: every file with its sha256 and size). The index is written
//! last and is what publishes the digest: a reader never sees an artifact whose upload is
//! still going or was cut off, and an upload that is repeated rewrites the same objects.
//! Downloads go into the home's `artifacts/` folder (an [`FsArtifactStore`]), the local
//! read-through cache: every file is checked against its sha256 as it arrives and the tree
//! against the digest before it is moved into place, so a cached artifact is verified once
//! and then read locally.
use super::artifacts::{files, FsArtifactStore};
use super::blocking::off_runtime;
use super::config::{s3_location, S3Location};
use super::ArtifactStore;
use crate::error::{PipelineError, Result};
use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are uploaded in parts (and never held in memory whole).
const MULTIPART_ABOVE: u64 = 16 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;

/// `<digest>.json`: what an artifact is made of.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    digest: String,
    files: Vec<IndexFile>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexFile {
    /// Relative, `/`-separated.
    path: String,
    sha256: String,
    size: u64,
}

pub struct S3ArtifactStore {
    store: Arc<dyn ObjectStore>,
    location: S3Location,
    cache: FsArtifactStore,
    /// Drives the object store's requests; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for S3ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3ArtifactStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A runtime must not be dropped on an async thread (an endpoint drops its catalog there).
impl Drop for S3ArtifactStore {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn is_digest(d: &str) -> bool {
    d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())
}

impl S3ArtifactStore {
    /// The store at `url` (`s3://bucket/prefix`) with the object-store settings `options`
    /// (`AWS_*` names), caching into `cache`. Nothing is contacted yet.
    pub fn open(url: &str, options: &[(String, String)], cache: FsArtifactStore) -> Result<Self> {
        let location = s3_location(url)?;
        let mut b = AmazonS3Builder::new().with_bucket_name(&location.bucket);
        for (k, v) in options {
            if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                b = b.with_config(key, v);
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sentio-s3")
            .enable_all()
            .build()
            .map_err(|e| {
                PipelineError::StoreConfig(format!("starting the object-store runtime: {e}"))
            })?;
        Ok(S3ArtifactStore {
            store: Arc::new(b.build()?),
            location,
            cache,
            runtime: Some(runtime),
        })
    }

    fn run<T: Send>(&self, fut: impl std::future::Future<Output = Result<T>> + Send) -> Result<T> {
        let rt = self.runtime.as_ref().expect("runtime present until drop");
        off_runtime(|| rt.block_on(fut))
    }

    fn key(&self, rel: &str) -> ObjectPath {
        if self.location.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.location.prefix))
        }
    }

    fn url(&self, rel: &str) -> String {
        format!("s3://{}/{}", self.location.bucket, self.key(rel))
    }

    /// Uploads the cached artifact's files, then its index (which publishes it).
    fn publish(&self, digest: &str) -> Result<()> {
        let dir = self.cache.path(digest);
        let mut all = Vec::new();
        files(&dir, "", &mut all)?;
        all.sort();
        let mut index = Index {
            digest: digest.to_string(),
            files: Vec::new(),
        };
        for (rel, path) in &all {
            let (sha256, size) = self.run(upload(
                &*self.store,
                self.key(&format!("{digest}/{rel}")),
                path,
            ))?;
            index.files.push(IndexFile {
                path: rel.clone(),
                sha256,
                size,
            });
        }
        let body = serde_json::to_vec_pretty(&index)
            .map_err(|e| PipelineError::json(self.url(digest), e))?;
        let key = self.key(&format!("{digest}.json"));
        self.run(async {
            Ok(self
                .store
                .put(&key, PutPayload::from(body))
                .await
                .map(|_| ())?)
        })?;
        tracing::info!(digest, files = index.files.len(), to = %self.url(digest), "artifact published");
        Ok(())
    }

    /// Downloads a published artifact into the cache, verifying every file and the tree.
    fn download(&self, digest: &str) -> Result<PathBuf> {
        let key = self.key(&format!("{digest}.json"));
        let bytes = self.run(async {
            match self.store.get(&key).await {
                Ok(r) => Ok(Some(r.bytes().await?)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })?;
        let bytes = bytes.ok_or_else(|| PipelineError::NotFound {
            what: "artifact",
            id: self.url(digest),
        })?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::json(self.url(&format!("{digest}.json")), e))?;
        let staging = self.cache.staging_dir()?;
        let dir = staging.join("artifact");
        let result = self
            .download_into(digest, &index, &dir)
            .and_then(|()| self.cache.commit(&dir));
        let _ = std::fs::remove_dir_all(&staging);
        let got = result?;
        if got != digest {
            let _ = std::fs::remove_dir_all(self.cache.path(&got));
            return Err(PipelineError::DigestMismatch {
                digest: digest.to_string(),
                got,
            });
        }
        tracing::info!(digest, from = %self.url(digest), "artifact downloaded into the local cache");
        Ok(self.cache.path(digest))
    }

    fn download_into(&self, digest: &str, index: &Index, dir: &Path) -> Result<()> {
        for f in &index.files {
            if f.path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(PipelineError::StoreConfig(format!(
                    "artifact {digest}: bad file name {:?} in its index",
                    f.path
                )));
            }
            let dest = dir.join(&f.path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| PipelineError::io(parent, e))?;
            }
            let got = self.run(download(
                &*self.store,
                self.key(&format!("{digest}/{}", f.path)),
                &dest,
            ))?;
            if got != f.sha256 {
                return Err(PipelineError::DigestMismatch {
                    digest: format!("{digest} (file {})", f.path),
                    got,
                });
            }
        }
        Ok(())
    }
}

/// Uploads one file (in parts when large); returns its sha256 and size.
async fn upload(store: &dyn ObjectStore, key: ObjectPath, path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| PipelineError::io(path, e))?;
    let size = file
        .metadata()
        .map_err(|e| PipelineError::io(path, e))?
        .len();
    let mut hash = Sha256::new();
    if size <= MULTIPART_ABOVE {
        let mut buf = Vec::with_capacity(size as usize);
        file.read_to_end(&mut buf)
            .map_err(|e| PipelineError::io(path, e))?;
        hash.update(&buf);
        store.put(&key, PutPayload::from(buf)).await?;
    } else {
        let mut w =
            WriteMultipart::new_with_chunk_size(store.put_multipart(&key).await?, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| PipelineError::io(path, e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            w.wait_for_capacity(4).await?;
            w.write(&buf[..n]);
        }
        w.finish().await?;
    }
    Ok((hex::encode(hash.finalize()), size))
}

/// Streams one object into `dest`; returns the sha256 of what arrived.
async fn download(store: &dyn ObjectStore, key: ObjectPath, dest: &Path) -> Result<String> {
    let mut out = std::fs::File::create(dest).map_err(|e| PipelineError::io(dest, e))?;
    let mut hash = Sha256::new();
    let mut stream = store.get(&key).await?.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hash.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| PipelineError::io(dest, e))?;
    }
    out.sync_all().map_err(|e| PipelineError::io(dest, e))?;
    Ok(hex::encode(hash.finalize()))
}

impl ArtifactStore for S3ArtifactStore {
    fn staging_dir(&self) -> Result<PathBuf> {
        self.cache.staging_dir()
    }

    /// Into the local cache by digest, then published unless it already is.
    fn commit(&self, dir: &Path) -> Result<String> {
        let digest = self.cache.commit(dir)?;
        if !self.contains(&digest)? {
            self.publish(&digest)?;
        }
        Ok(digest)
    }

    fn fetch(&self, digest: &str) -> Result<PathBuf> {
        if !is_digest(digest) {
            return Err(PipelineError::NotFound {
                what: "artifact",
                id: digest.to_string(),
            });
        }
        if self.cache.has(digest) {
            return Ok(self.cache.path(digest));
        }
        self.download(digest)
    }

    fn contains(&self, digest: &str) -> Result<bool> {
        if !is_digest(digest) {
            return Ok(false);
        }
        let key = self.key(&format!("{digest}.json"));
        self.run(async {
            match self.store.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn location(&self, digest: &str) -> String {
        self.url(digest)
    }

    fn clean_staging(&self, age: std::time::Duration) -> usize {
        self.cache.clean_staging(age)
    }
}
