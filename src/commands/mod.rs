//! One module per subcommand. Each defines its clap arguments and a `run` function; this file only
//! wires them to the parsed command line.

pub mod bootstrap;
pub mod build;
pub mod clickhouse_init;
pub mod completions;
pub mod config;
pub mod connector;
pub mod dbt_build;
pub mod dbt_test;
pub mod demo;
pub mod down;
pub mod init;
pub mod logs;
pub mod packages;
pub mod ps;
pub mod reconcile;
pub mod recover;
pub mod register_connector;
pub mod reset;
pub mod restart;
pub mod setup;
pub mod snapshot_tables;
pub mod status;
pub mod superset_export;
pub mod superset_import;
pub mod up;
pub mod verify;
pub mod watchdog;

use crate::cli::{Command, Global};
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::Output;

pub async fn dispatch(command: Command, global: &Global, out: &Output) -> Result<Exit> {
    // These work without (or before) a valid configuration.
    match command {
        Command::Completions(args) => return completions::run(args),
        Command::Init(args) => return init::run(args, global, out),
        Command::Setup(args) => return setup::run(args, global, out).await,
        _ => {}
    }
    let ctx = Ctx::load(global, out)?;
    match command {
        Command::Completions(_) | Command::Init(_) | Command::Setup(_) => unreachable!("handled above"),
        Command::Config(args) => config::run(args, &ctx),
        Command::Up(args) => up::run(args, &ctx).await,
        Command::Down(args) => down::run(args, &ctx).await,
        Command::Ps(args) => ps::run(args, &ctx).await,
        Command::Logs(args) => logs::run(args, &ctx).await,
        Command::Restart(args) => restart::run(args, &ctx).await,
        Command::Reset(args) => reset::run(args, &ctx).await,
        Command::Build(args) => build::run(args, &ctx).await,
        Command::Recover(args) => recover::run(args, &ctx).await,
        Command::RegisterConnector(args) => register_connector::run(args, &ctx).await,
        Command::Connector(args) => connector::run(args, &ctx).await,
        Command::SnapshotTables(args) => snapshot_tables::run(args, &ctx).await,
        Command::Watchdog(args) => watchdog::run(args, &ctx).await,
        Command::ClickhouseInit(args) => clickhouse_init::run(args, &ctx).await,
        Command::DbtBuild(args) => dbt_build::run(args, &ctx).await,
        Command::DbtTest(args) => dbt_test::run(args, &ctx).await,
        Command::SupersetImport(args) => superset_import::run(args, &ctx).await,
        Command::SupersetExport(args) => superset_export::run(args, &ctx).await,
        Command::Packages(args) => packages::run(args, &ctx).await,
        Command::Verify(args) => verify::run(args, &ctx).await,
        Command::Bootstrap(args) => bootstrap::run(args, &ctx).await,
        Command::Reconcile(args) => reconcile::run(args, &ctx).await,
        Command::Status(args) => status::run(args, &ctx).await,
        Command::Demo(args) => demo::run(args, &ctx).await,
    }
}
