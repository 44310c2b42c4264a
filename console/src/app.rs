//! The console's shared state: the home's stores, the endpoints it knows, the HTTP client,
//! live samples and the report cache.
use crate::client::EndpointClient;
use crate::config::ConsoleConfig;
use crate::error::{ConsoleError, Result};
use crate::live::Live;
use crate::reports::ReportCache;
use pipeline::{Home, Stores};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;

pub struct App {
    pub config: ConsoleConfig,
    pub stores: Stores,
    pub client: EndpointClient,
    pub live: Live,
    pub reports: ReportCache,
    pub memo: Memo,
}

/// Values that are costly to compute (a quality report reads a whole capture tree), kept
/// for a while by key.
#[derive(Default)]
pub struct Memo {
    map: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, serde_json::Value)>,
    >,
}

impl Memo {
    pub fn get_or(
        &self,
        key: &str,
        ttl: std::time::Duration,
        f: impl FnOnce() -> Result<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        if let Some((at, v)) = self.map.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            if at.elapsed() < ttl {
                return Ok(v.clone());
            }
        }
        let v = f()?;
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), (std::time::Instant::now(), v.clone()));
        Ok(v)
    }
}

/// An endpoint the console knows: recorded in the home by `sentio serve`, or given with
/// `--endpoint`. Its folders are for reading only; they are never shown.
#[derive(Debug, Clone)]
pub struct KnownEndpoint {
    pub name: String,
    pub url: String,
    /// "home" or "flag".
    pub source: &'static str,
    /// Recorded as stopped, or its process is gone.
    pub stopped: bool,
    pub started_at: Option<String>,
    pub capture_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub monitor_dir: Option<PathBuf>,
}

impl App {
    pub fn open(config: ConsoleConfig) -> Result<Arc<App>> {
        let stores = config.home.open_stores()?;
        Ok(Arc::new(App {
            client: EndpointClient::new(config.endpoint_timeout),
            live: Live::new(config.scrape_interval, config.live_samples),
            reports: ReportCache::default(),
            memo: Memo::default(),
            stores,
            config,
        }))
    }

    pub fn home(&self) -> &Home {
        &self.config.home
    }

    /// The admin token, for calls to endpoints' management APIs.
    pub fn token(&self) -> Option<&str> {
        self.config.admin_token.as_ref().map(|t| t.expose_secret())
    }

    /// Recorded endpoints, then those given by flag (a flag overrides a record of the same
    /// name). Folders default to the home's `capture/<name>`, `monitor/<name>` and `state`.
    pub fn endpoints(&self) -> Result<Vec<KnownEndpoint>> {
        let root = self.home().root();
        let in_home = |sub: &str, name: &str| {
            let p = root.join(sub).join(name);
            p.is_dir().then_some(p)
        };
        let state = root.join("state");
        let default_state = state.is_dir().then_some(state);
        let mut out: Vec<KnownEndpoint> = Vec::new();
        for r in self.stores.metadata.endpoints()? {
            out.push(KnownEndpoint {
                stopped: r.stopped_at.is_some() || r.gone(),
                capture_dir: r
                    .capture_dir
                    .clone()
                    .or_else(|| in_home("capture", &r.name)),
                state_dir: r.state_dir.clone().or_else(|| default_state.clone()),
                monitor_dir: r
                    .monitor_dir
                    .clone()
                    .or_else(|| in_home("monitor", &r.name)),
                started_at: Some(r.started_at),
                name: r.name,
                url: r.url,
                source: "home",
            });
        }
        for t in &self.config.endpoints {
            out.retain(|e| e.name != t.name);
            out.push(KnownEndpoint {
                name: t.name.clone(),
                url: t.url.clone(),
                source: "flag",
                stopped: false,
                started_at: None,
                capture_dir: in_home("capture", &t.name),
                state_dir: default_state.clone(),
                monitor_dir: in_home("monitor", &t.name),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn endpoint(&self, name: &str) -> Result<KnownEndpoint> {
        self.endpoints()?
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| ConsoleError::NotFound(format!("no endpoint named {name:?}")))
    }

    /// Reads the endpoint's `/metrics` into its live samples if a sample is due.
    pub async fn sample(&self, e: &KnownEndpoint) -> Result<()> {
        if !self.live.due(&e.name) {
            return Ok(());
        }
        let text = self
            .client
            .get_text(&e.name, &format!("{}/metrics", e.url))
            .await?;
        let unix = chrono::Utc::now().timestamp_millis() as f64 / 1e3;
        let sample = crate::live::parse(&text, std::time::Instant::now(), unix);
        self.live.push(&e.name, sample);
        Ok(())
    }
}

/// Runs blocking work (the store, files) off the async executor.
pub async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T> + Send + 'static,
) -> Result<T> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| ConsoleError::Internal(format!("a worker failed: {e}")))?
}
