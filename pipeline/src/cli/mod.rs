//! The command-line surface as a library: clap argument structs (doc comments are the
//! help) and one `run_*_cli` function per command group, which the `sentio` binary wires
//! in. `SENTIO_HOME` is read here and nowhere else.
mod describe;
mod lineage;
mod pipeline;
mod registry;

pub use describe::describe;
pub use lineage::{run_lineage_cli, LineageArgs};
pub use pipeline::{run_pipeline_cli, PipelineArgs, PipelineCommand};
pub use registry::{run_registry_cli, RegistryArgs, RegistryCommand};

use crate::home::Home;
use std::path::PathBuf;

/// Where Sentio keeps its database and artifacts.
#[derive(Debug, Clone, clap::Args)]
pub struct HomeArgs {
    /// Sentio home directory (sentio.db, artifacts/, executions/).
    #[arg(long = "home", env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
}

impl HomeArgs {
    pub fn home(&self) -> Home {
        Home::new(self.home.clone())
    }
}

/// `30d`, `12h`, `45m`, `90s` or `never`.
pub fn parse_duration(s: &str) -> Result<Option<std::time::Duration>, String> {
    let s = s.trim();
    if s == "never" || s == "none" {
        return Ok(None);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30d, 12h, 45m or 90s"))?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3600,
        "m" => n * 60,
        "s" | "" => n,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use d, h, m or s)")),
    };
    Ok(Some(std::time::Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            Some(std::time::Duration::from_secs(7 * 86_400))
        );
        assert_eq!(parse_duration("never").unwrap(), None);
        assert!(parse_duration("7 weeks").is_err());
    }
}
