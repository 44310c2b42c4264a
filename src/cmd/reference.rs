//! One model reference everywhere: `registry:GROUP` (the latest Approved version),
//! `registry:GROUP:N`, `registry:GROUP:sha256-…`, or an artifact directory. Commands that
//! only read a model (predict, evaluate, transform, monitor) take any registered version;
//! serving takes Approved ones unless forced (`catalog.rs`).
use pipeline::Home;
use std::path::{Path, PathBuf};

/// Whether a reference names a registry version.
pub fn is_registry(reference: &str) -> bool {
    reference.starts_with("registry:")
}

/// The artifact directory a reference names. A registry reference needs the home; any
/// registered version is accepted (reading a model is not deploying it).
pub fn model_dir(home: &Home, reference: &str) -> anyhow::Result<PathBuf> {
    if !is_registry(reference) {
        let p = PathBuf::from(reference);
        if !p.is_dir() {
            anyhow::bail!("model {reference} not found (no artifact directory there)");
        }
        return Ok(p);
    }
    let rest = &reference["registry:".len()..];
    let (group, version) = match rest.split_once(':') {
        Some((g, v)) if v.starts_with("sha256-") => (g, Some(v.to_string())),
        Some((g, v)) => (g, Some(format!("{g}/{v}"))),
        None => (rest, None),
    };
    if group.is_empty() {
        anyhow::bail!("model reference {reference:?} names no model package group");
    }
    let stores = home.open_stores()?;
    let (dir, _) = stores
        .registry()
        .resolve_for_deployment(group, version.as_deref(), version.is_some())
        .map_err(|e| anyhow::anyhow!("model {reference}: {e}"))?;
    Ok(dir)
}

/// The baseline folder a reference names: a folder holding `statistics.json`, or the
/// `baseline/` of an artifact (directory or registry reference).
pub fn baseline_dir(home: &Home, reference: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(reference);
    if !is_registry(reference) && p.join("statistics.json").is_file() {
        return Ok(p.to_path_buf());
    }
    if !is_registry(reference) && !p.exists() {
        anyhow::bail!(
            "baseline {reference} not found: give a folder with statistics.json and constraints.json, a model artifact or registry:GROUP[:N]"
        );
    }
    if !is_registry(reference) && p.is_dir() && !p.join("config.json").is_file() {
        anyhow::bail!("baseline {reference}: no statistics.json there (nor a model artifact)");
    }
    let dir = model_dir(home, reference)?.join("baseline");
    if !dir.join("statistics.json").is_file() {
        anyhow::bail!("{reference} has no baseline (no baseline/statistics.json)");
    }
    Ok(dir)
}

/// The artifact directory of each registered model version (`sha256-…`), for judging
/// captured traffic per version against its own baseline.
pub fn registry_model_dirs(
    home: &Home,
) -> anyhow::Result<impl Fn(&str) -> Option<PathBuf> + Send + Sync + 'static> {
    let stores = home.open_stores()?;
    Ok(move |version: &str| {
        let v = stores.metadata.version(version).ok()??;
        let dir = stores.registry().artifact_dir(&v).ok()?;
        dir.is_dir().then_some(dir)
    })
}
