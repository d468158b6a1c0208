//! The command line: global flags and the list of subcommands. Each subcommand's own flags live
//! next to its implementation in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::*;

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 checks or steps failed, 2 usage or configuration error, 3 a service failed or is
unreachable, 4 timed out, 99 nothing new (verify freshness --nothing-new-exit-code 99), 130 interrupted.
Configuration: flags (--set) > environment > .env > defaults; `olmisctl config` shows the result.";

#[derive(Debug, Parser)]
#[command(
    name = "olmisctl",
    version,
    about = "Set up, run, verify and repair the OpenLMIS analytics platform",
    long_about = "Set up, run, verify and repair the OpenLMIS analytics platform: OpenLMIS PostgreSQL \
                  -> Debezium (Kafka Connect) -> Kafka -> ClickHouse -> dbt marts -> Superset dashboards, \
                  refreshed by Airflow.\n\nNew here? Run `olmisctl setup`.",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Project directory (holds .env, compose/, the packages) [default: the current directory]
    #[arg(long, global = true, value_name = "DIR", env = "OLMIS_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,

    /// Env file to read [default: .env in the project directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Set a configuration variable for this run (not for secrets), e.g. --set SOURCE_PG_DB=lmis
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Machine-readable output: one JSON document on stdout, logs on stderr
    #[arg(long, global = true)]
    pub json: bool,

    /// More detail in logs (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors and the final result
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// No colours (also honoured: the NO_COLOR environment variable)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write .env from .env.example with fresh random secrets (never overwrites your values)
    Init(init::InitArgs),
    /// Show the effective configuration and where each value comes from (secrets masked)
    Config(config::ConfigArgs),
    /// Start the Docker Compose stack (or some services) and wait until healthy
    Up(up::UpArgs),
    /// Stop the Docker Compose stack, keeping its volumes
    Down(down::DownArgs),
    /// List the stack's services with state, health, uptime and ports
    Ps(ps::PsArgs),
    /// Show (or follow) service logs
    Logs(logs::LogsArgs),
    /// Restart services and wait until healthy again
    Restart(restart::RestartArgs),
    /// Stop the stack and delete its volumes (all platform data)
    Reset(reset::ResetArgs),
    /// Build the stack's images
    Build(build::BuildArgs),
    /// From zero to dashboards: init, up, preflight, CDC, ClickHouse, dbt, Superset, verify
    Setup(setup::SetupArgs),
    /// Find what is broken and repair it: connector, tasks, slot, ingestion
    Recover(recover::RecoverArgs),
    /// Register (or update) the Debezium connector in Kafka Connect and wait until it runs
    RegisterConnector(register_connector::RegisterConnectorArgs),
    /// Inspect and manage the Debezium connector
    Connector(connector::ConnectorArgs),
    /// Incrementally snapshot tables through the Debezium signal table
    SnapshotTables(snapshot_tables::SnapshotTablesArgs),
    /// Keep the connector alive: re-register, restart failed tasks (runs as a sidecar)
    Watchdog(watchdog::WatchdogArgs),
    /// Create the raw landing in ClickHouse: Kafka engine tables, event tables, views, error table
    ClickhouseInit(clickhouse_init::ClickhouseInitArgs),
    /// Build the dbt marts of the configured packages (deps, then build)
    DbtBuild(dbt_build::DbtBuildArgs),
    /// Run the dbt tests of the configured packages
    DbtTest(dbt_test::DbtTestArgs),
    /// Import Superset assets (platform, core, extensions) from the packages
    SupersetImport(superset_import::SupersetImportArgs),
    /// Export a dashboard from Superset into a package as reviewable YAML
    SupersetExport(superset_export::SupersetExportArgs),
    /// Fetch and validate analytics packages
    Packages(packages::PackagesArgs),
    /// Check that a part of the platform (or all of it) works
    Verify(verify::VerifyArgs),
    /// Initial load, backfill and replication slot recovery
    Bootstrap(bootstrap::BootstrapArgs),
    /// Compare row counts and key checksums between PostgreSQL and ClickHouse
    Reconcile(reconcile::ReconcileArgs),
    /// One screen (or JSON, or Prometheus metrics) with the state of the whole platform
    Status(status::StatusArgs),
    /// Demo source data
    Demo(demo::DemoArgs),
    /// Print shell completions
    Completions(completions::CompletionsArgs),
}
