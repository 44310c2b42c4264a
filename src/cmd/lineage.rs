//! `sentio lineage <model-version>`.
use super::home::HomeArgs;

/// Where a model version came from: data, code, parameters, framework, artifacts.
#[derive(Debug, clap::Args)]
pub struct LineageArgs {
    #[command(flatten)]
    pub home: HomeArgs,
    /// Version id (sha256-…) or group/number.
    pub version: String,
    /// Print the lineage as JSON (for tools) instead of a tree.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: LineageArgs) -> anyhow::Result<()> {
    let stores = args.home.home().open_stores()?;
    let (v, l) = pipeline::lineage::lineage(&*stores.metadata, &args.version)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
    } else {
        print!("{}", pipeline::lineage::render(&v, &l));
    }
    Ok(())
}
