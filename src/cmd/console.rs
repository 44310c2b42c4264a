//! `sentio console`: the web console of one home (pipelines, registry, lineage, endpoints,
//! monitoring, experiments) on 127.0.0.1 by default, until SIGTERM or Ctrl-C.
use super::home::HomeArgs;
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

#[derive(clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub home: HomeArgs,
    /// Address to listen on (loopback by default: the console is for this machine).
    #[arg(long, env = "SENTIO_CONSOLE_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port).
    #[arg(long, env = "SENTIO_CONSOLE_PORT", default_value_t = 8090)]
    pub port: u16,
    /// An endpoint not recorded in the home, as NAME=URL (repeatable). Endpoints started
    /// with `sentio serve --home` record themselves.
    #[arg(long = "endpoint", value_name = "NAME=URL")]
    pub endpoints: Vec<console::EndpointTarget>,
    /// Admin token: actions in the console need it, and it is sent to the endpoints'
    /// management APIs. Without it the console is read-only.
    #[arg(long, env = "SENTIO_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// Rows per page of the paginated lists.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=500))]
    pub page_size: u64,
}

fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

pub fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    let home = a.home.home();
    if !home.db_path().is_file() {
        anyhow::bail!(
            "{} is not a Sentio home (no sentio.db): run a pipeline there first, or give --home",
            home.root().display()
        );
    }
    let mut config = console::ConsoleConfig::new(home);
    config.endpoints = a.endpoints;
    config.admin_token = a.admin_token.filter(|t| !t.expose_secret().is_empty());
    config.page_size = a.page_size as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sentio-console")
        .build()
        .context("building the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .with_context(|| format!("binding {}:{}", a.host, a.port))?;
        let addr = listener.local_addr()?;
        println!("console on http://{addr}/");
        console::run(config, listener, super::serve::shutdown_signal()).await?;
        Ok(())
    })
}
