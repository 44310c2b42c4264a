//! `sentio validate`.
use super::data_args::DataArgs;
use clap::Args;

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ValidateArgs) -> anyhow::Result<()> {
    let cfg = a.data.config();
    let vc = train::ValidationConfig::default();
    let table = train::load_table(&cfg)?;
    let ds = train::Dataset::from_table(&table, &cfg);
    let report = match &ds {
        Ok((d, drops)) => train::validate(&table, &cfg, Some((d, drops)), &vc),
        Err(train::TrainError::MissingColumn { .. }) => train::validate(&table, &cfg, None, &vc),
        Err(_) => {
            return Err(ds
                .err()
                .map(anyhow::Error::from)
                .unwrap_or_else(|| anyhow::anyhow!("invalid data")))
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.summary());
    }
    if !report.passed {
        let failed: Vec<String> = report
            .failures()
            .iter()
            .map(|c| format!("{}: {}", c.name, c.message))
            .collect();
        anyhow::bail!("validation failed:\n{}", failed.join("\n"));
    }
    Ok(())
}
