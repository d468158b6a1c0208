//! `olmisctl bootstrap export|import|recover-slot`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(subcommand)]
    pub action: BootstrapAction,
}

#[derive(Debug, Subcommand)]
pub enum BootstrapAction {
    /// Export tables from PostgreSQL in one consistent snapshot, with its watermark
    Export {
        /// Tables to export: schema.table,... [default: all captured tables]
        #[arg(long)]
        tables: Option<String>,
        /// Directory to write the export into
        #[arg(long, default_value = "bootstrap")]
        to: PathBuf,
    },
    /// Load an export into ClickHouse's raw event tables as snapshot events
    Import {
        /// Directory of the export
        #[arg(long, default_value = "bootstrap")]
        from: PathBuf,
        /// Tables to import [default: all in the export]
        #[arg(long)]
        tables: Option<String>,
        /// Only rows whose date column is on or after this date (YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        /// Only rows whose date column is before this date (YYYY-MM-DD)
        #[arg(long)]
        until: Option<String>,
        /// The date column --since/--until apply to
        #[arg(long)]
        date_column: Option<String>,
    },
    /// Recover from an invalidated or missing replication slot without losing data
    RecoverSlot {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(args: BootstrapArgs, _ctx: &Ctx) -> Result<Exit> {
    match args.action {
        BootstrapAction::Export { .. } => super::not_implemented("bootstrap export"),
        BootstrapAction::Import { .. } => super::not_implemented("bootstrap import"),
        BootstrapAction::RecoverSlot { .. } => super::not_implemented("bootstrap recover-slot"),
    }
}
