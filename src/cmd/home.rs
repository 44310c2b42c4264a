//! `--home`: where Sentio keeps its state, for the commands that use it. `SENTIO_HOME` is
//! read here (by clap) and nowhere else.
use std::path::PathBuf;

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
}

impl HomeArgs {
    pub fn home(&self) -> pipeline::Home {
        pipeline::Home::new(self.home.clone())
    }
}
