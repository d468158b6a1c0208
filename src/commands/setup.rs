//! `olmisctl setup`: from a fresh clone to populated dashboards (see [`crate::setup`]).

use std::time::Duration;

use clap::Args;

use crate::cli::Global;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::Output;
use crate::setup::{self, Options};

#[derive(Debug, Args)]
#[command(after_help = "\
Steps: init (when .env is missing), up (compose mode), demo-seed (the demo source), preflight,
register-connector, clickhouse-init, snapshot (wait until it landed), dbt-build, superset-import,
schedule (unpause platform_refresh), verify. Each step checks whether its work is already done, so
running setup again resumes where it stopped and changes nothing that is finished.
The demo source is used in compose mode when SOURCE_PG_CONNECT_HOST=demo-source (as .env.example
sets it), or anywhere with --demo.")]
pub struct SetupArgs {
    /// Seconds to wait for the initial snapshot to land
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub snapshot_timeout: u64,
    /// Seconds to wait for the connector and its tasks to run
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub connector_timeout: u64,
    /// Fill the source database with the demo data first (`olmisctl demo seed`; never touches
    /// schemas it did not create)
    #[arg(long)]
    pub demo: bool,
    /// Make the source changes the preflight offers (signal and heartbeat tables, publication)
    /// without asking
    #[arg(long)]
    pub yes: bool,
}

/// `init` runs before the configuration is loaded (it may create the file the configuration
/// comes from), so this command gets the global flags instead of a loaded context.
pub async fn run(args: SetupArgs, global: &Global, out: &Output) -> Result<Exit> {
    let (init_record, env_created) = setup::init(global, out)?;
    let ctx = Ctx::load(global, out)?;
    let options = Options {
        demo: args.demo,
        yes: args.yes,
        snapshot_timeout: Duration::from_secs(args.snapshot_timeout),
        connector_timeout: Duration::from_secs(args.connector_timeout),
    };
    let report = setup::run(&ctx, &options, init_record, env_created).await?;
    Ok(ctx.out.report(&report))
}
