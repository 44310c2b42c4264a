//! `--home` and the store backends: where Sentio keeps its state, for the commands that
//! use it. `SENTIO_HOME`, `SENTIO_DATABASE_URL`, `SENTIO_ARTIFACT_STORE` and the `AWS_*`
//! variables of the object store are read here and nowhere else.
use pipeline::StoreConfig;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

const DATABASE_URL: &str = "SENTIO_DATABASE_URL";
const ARTIFACT_STORE: &str = "SENTIO_ARTIFACT_STORE";

#[derive(Debug, Clone, clap::Args)]
pub struct HomeArgs {
    /// Sentio home directory (sentio.db, artifacts/, executions/); accepted before or
    /// after the subcommand.
    #[arg(
        long = "home",
        global = true,
        env = "SENTIO_HOME",
        default_value = ".sentio",
        value_name = "DIR"
    )]
    pub home: PathBuf,
    /// Metadata store on PostgreSQL instead of the home's sentio.db
    /// (postgres://user:password@host:5432/db) [default: sentio.db].
    #[arg(long, global = true, env = DATABASE_URL, hide_env_values = true, value_name = "URL", value_parser = secret)]
    pub database_url: Option<SecretString>,
    /// Artifacts in S3-compatible object storage (s3://bucket/prefix), with the home's
    /// artifacts/ folder as their local cache; credentials, region and endpoint come from
    /// the AWS_* environment variables [default: the home's artifacts/ folder].
    #[arg(long, global = true, env = ARTIFACT_STORE, value_name = "URL")]
    pub artifact_store: Option<String>,
}

fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

/// The object store's settings: every `AWS_*` variable (the object store ignores the ones
/// it does not know).
fn aws_options() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl HomeArgs {
    pub fn home(&self) -> pipeline::Home {
        pipeline::Home::new(self.home.clone()).with_stores(self.store_config())
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            database_url: non_empty(
                self.database_url
                    .as_ref()
                    .map(|s| s.expose_secret().to_string()),
            ),
            artifact_store: non_empty(self.artifact_store.clone()),
            object_store_options: aws_options(),
        }
    }
}

/// The store backends from the environment alone, for homes named by other flags
/// (`--monitor-retrain-home`, `--retrain-home`).
pub fn stores_from_env() -> StoreConfig {
    StoreConfig {
        database_url: non_empty(std::env::var(DATABASE_URL).ok()),
        artifact_store: non_empty(std::env::var(ARTIFACT_STORE).ok()),
        object_store_options: aws_options(),
    }
}

/// The home at `path` with the store backends from the environment.
pub fn home_at(path: impl Into<std::path::PathBuf>) -> pipeline::Home {
    pipeline::Home::new(path.into()).with_stores(stores_from_env())
}
