//! `sentio lineage <model-version>`.
use super::HomeArgs;
use crate::store::SqliteStore;

/// Where a model version came from: data, code, parameters, framework, artifacts.
#[derive(Debug, clap::Args)]
pub struct LineageArgs {
    #[command(flatten)]
    pub home: HomeArgs,
    /// Version id (sha256-…) or group/number.
    pub version: String,
    /// As JSON (for tools).
    #[arg(long)]
    pub json: bool,
}

/// Runs `sentio lineage …`.
pub fn run_lineage_cli(args: LineageArgs) -> anyhow::Result<()> {
    let store = SqliteStore::open(&args.home.home().db_path())?;
    let (v, l) = crate::lineage::lineage(&store, &args.version)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
    } else {
        print!("{}", crate::lineage::render(&v, &l));
    }
    Ok(())
}
