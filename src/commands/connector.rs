//! `olmisctl connector status|delete|refresh`.

use clap::{Args, Subcommand, ValueEnum};

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct ConnectorArgs {
    #[command(subcommand)]
    pub action: ConnectorAction,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorAction {
    /// Connector and task states, the trace of a failed task, and offsets
    Status,
    /// Delete the connector (its replication slot stays; see `bootstrap recover-slot`)
    Delete {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Capture newly allowlisted tables: an incremental snapshot, or a full reset
    Refresh {
        #[arg(long, value_enum, default_value_t = RefreshMode::Auto)]
        mode: RefreshMode,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RefreshMode {
    /// Incremental when the signal table is usable, otherwise reset
    Auto,
    /// Snapshot only the tables new to the allowlist, through the signal table
    Incremental,
    /// Clear the connector's offsets and snapshot everything again
    Reset,
}

pub async fn run(args: ConnectorArgs, _ctx: &Ctx) -> Result<Exit> {
    match args.action {
        ConnectorAction::Status => super::not_implemented("connector status"),
        ConnectorAction::Delete { .. } => super::not_implemented("connector delete"),
        ConnectorAction::Refresh { .. } => super::not_implemented("connector refresh"),
    }
}
