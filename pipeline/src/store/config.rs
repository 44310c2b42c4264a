//! Which backends a home's stores use: the embedded defaults (`sentio.db`, `artifacts/`)
//! unless a PostgreSQL URL or an S3-compatible location is given. The binary fills this
//! from the environment (`SENTIO_DATABASE_URL`, `SENTIO_ARTIFACT_STORE`, `AWS_*`); nothing
//! in this crate reads the environment.
use crate::error::{PipelineError, Result};

/// The backends of a home's stores.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// `postgres://user:password@host:port/db`: the metadata store on PostgreSQL instead
    /// of `sentio.db`.
    pub database_url: Option<String>,
    /// `s3://bucket/prefix`: artifacts in S3-compatible object storage; the home's
    /// `artifacts/` folder becomes its local read-through cache.
    pub artifact_store: Option<String>,
    /// Object-store settings as (name, value), named as the `AWS_*` environment variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP`, …). Names the object store does not know are ignored.
    pub object_store_options: Vec<(String, String)>,
}

/// Never prints a password, a key or a token.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("artifact_store", &self.artifact_store)
            .field(
                "object_store_options",
                &self
                    .object_store_options
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

/// An `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl StoreConfig {
    /// Checks the URLs' shapes (before anything connects), so a typo is a clear error.
    pub fn check(&self) -> Result<()> {
        if let Some(u) = &self.database_url {
            postgres_url(u)?;
        }
        if let Some(a) = &self.artifact_store {
            s3_location(a)?;
        }
        Ok(())
    }
}

pub(crate) fn postgres_url(u: &str) -> Result<&str> {
    if u.starts_with("postgres://") || u.starts_with("postgresql://") {
        Ok(u)
    } else {
        Err(PipelineError::StoreConfig(format!(
            "the database URL must start with postgres:// or postgresql://, got {:?}",
            redact_url(u)
        )))
    }
}

pub(crate) fn s3_location(s: &str) -> Result<S3Location> {
    let bad = |why: &str| {
        PipelineError::StoreConfig(format!(
            "artifact store {s:?}: {why} (expected s3://bucket/prefix)"
        ))
    };
    let rest = s
        .strip_prefix("s3://")
        .ok_or_else(|| bad("only s3:// locations are supported"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid_bucket {
        return Err(bad(
            "the bucket name must be 3–63 lowercase letters, digits, '-' or '.'",
        ));
    }
    Ok(S3Location {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_redaction() {
        assert_eq!(
            s3_location("s3://my-bucket/team/sentio/").unwrap(),
            S3Location {
                bucket: "my-bucket".into(),
                prefix: "team/sentio".into()
            }
        );
        assert_eq!(s3_location("s3://abc").unwrap().prefix, "");
        for bad in ["gs://x/y", "s3://", "s3://A_B/c", "/tmp/artifacts"] {
            assert!(s3_location(bad).is_err(), "{bad}");
        }
        assert!(postgres_url("mysql://x").is_err());
        let c = StoreConfig {
            database_url: Some("postgres://sentio:s3cret@db:5432/sentio".into()),
            artifact_store: Some("s3://b-1/p".into()),
            object_store_options: vec![("AWS_SECRET_ACCESS_KEY".into(), "k3y".into())],
        };
        c.check().unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret") && !dbg.contains("k3y"), "{dbg}");
        assert!(dbg.contains("AWS_SECRET_ACCESS_KEY"), "{dbg}");
    }
}
