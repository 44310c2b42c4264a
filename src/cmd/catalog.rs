//! The registry-backed model catalog that `sentio serve` uses: a reference
//! `registry:GROUP` (latest Approved version), `registry:GROUP:N` or
//! `registry:GROUP:sha256-…` resolves through the model registry (only Approved versions
//! unless forced), and successful deployments of registry versions are appended to the
//! registry's history. Any other reference is an artifact directory.
use pipeline::{Home, Stores};
use serve::{CatalogError, DeploymentRecord, ModelCatalog, PathCatalog, ResolvedModel};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub struct RegistryCatalog {
    home: Home,
    /// The home's stores, opened at the first registry reference (an endpoint serving
    /// artifact directories only never creates a home).
    stores: OnceLock<Stores>,
    paths: PathCatalog,
    /// Registry version and force flag of each resolved registry reference.
    resolved: Mutex<HashMap<String, (String, bool)>>,
}

impl RegistryCatalog {
    pub fn new(home: Home) -> Self {
        RegistryCatalog {
            home,
            stores: OnceLock::new(),
            paths: PathCatalog::default(),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Over stores already open (the demo shares its pipeline's).
    pub fn with_stores(home: Home, stores: Stores) -> Self {
        let c = RegistryCatalog::new(home);
        let _ = c.stores.set(stores);
        c
    }

    fn stores(&self) -> Result<&Stores, CatalogError> {
        if let Some(s) = self.stores.get() {
            return Ok(s);
        }
        let opened = self
            .home
            .open_stores()
            .map_err(|e| CatalogError::Other(e.to_string()))?;
        // Another thread may have opened them meanwhile; either copy will do.
        Ok(self.stores.get_or_init(|| opened))
    }
}

/// `GROUP[:VERSION]` → (group, version as the registry names it).
fn parse(reference: &str) -> Option<(String, Option<String>)> {
    let rest = reference.strip_prefix("registry:")?;
    let (group, version) = match rest.split_once(':') {
        Some((g, v)) if v.starts_with("sha256-") => (g, Some(v.to_string())),
        Some((g, v)) => (g, Some(format!("{g}/{v}"))),
        None => (rest, None),
    };
    Some((group.to_string(), version))
}

impl ModelCatalog for RegistryCatalog {
    fn resolve(&self, reference: &str, force: bool) -> Result<ResolvedModel, CatalogError> {
        let Some((group, version)) = parse(reference) else {
            return self.paths.resolve(reference, force);
        };
        let resolved =
            self.stores()?
                .registry()
                .resolve_for_deployment(&group, version.as_deref(), force);
        match resolved {
            Ok((path, v)) => {
                self.resolved
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(reference.to_string(), (v.clone(), force));
                Ok(ResolvedModel {
                    path,
                    version: Some(v),
                })
            }
            Err(pipeline::PipelineError::NotApproved { .. }) => {
                Err(CatalogError::NotApproved(reference.to_string()))
            }
            Err(e @ pipeline::PipelineError::NotFound { .. }) => {
                Err(CatalogError::NotFound(format!("{reference}: {e}")))
            }
            Err(e) => Err(CatalogError::Other(e.to_string())),
        }
    }

    fn record_deployment(&self, record: &DeploymentRecord) -> Result<(), CatalogError> {
        self.paths.record_deployment(record)?;
        let entry = record.reference.as_deref().and_then(|r| {
            self.resolved
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(r)
                .cloned()
        });
        let event = match record.action.as_str() {
            "create" | "deploy" | "add" => "deployed",
            "canary" => "canary",
            "promote" => "promoted",
            "remove" | "retire" => "retired",
            "weights" => "weights",
            _ => return Ok(()),
        };
        if let (Some((version, forced)), "succeeded") = (entry, record.outcome.as_str()) {
            let mut note = if forced {
                "forced".to_string()
            } else {
                String::new()
            };
            if let Some(w) = record.weight {
                note = format!("{note} weight {w}").trim().to_string();
            }
            self.stores()?
                .registry()
                .record_endpoint_event(event, &record.endpoint, &record.variant, &version, &note)
                .map_err(|e| CatalogError::Other(e.to_string()))?;
        }
        Ok(())
    }

    fn history(&self) -> Vec<DeploymentRecord> {
        self.paths.history()
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn references() {
        assert_eq!(
            parse("registry:sentiment"),
            Some(("sentiment".into(), None))
        );
        assert_eq!(
            parse("registry:sentiment:3"),
            Some(("sentiment".into(), Some("sentiment/3".into())))
        );
        assert_eq!(
            parse("registry:s:sha256-abc"),
            Some(("s".into(), Some("sha256-abc".into())))
        );
        assert_eq!(parse("/models/a"), None);
    }
}
