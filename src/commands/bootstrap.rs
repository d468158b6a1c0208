//! `olmisctl bootstrap export|import|recover-slot`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::bootstrap::catalog;
use crate::bootstrap::export::{self, ExportRequest};
use crate::bootstrap::import::{self, DateRange, ImportRequest};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::postgres;
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
        /// Rows per data file; an interrupted import resumes at the first file not fully imported
        #[arg(long, default_value_t = 1_000_000, value_name = "N")]
        chunk_rows: u64,
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

pub async fn run(args: BootstrapArgs, ctx: &Ctx) -> Result<Exit> {
    match args.action {
        BootstrapAction::Export { tables, to, chunk_rows } => {
            let tables = match tables {
                Some(list) => catalog::parse_tables(&list)?,
                None => {
                    let s = &ctx.settings.source;
                    let pg = postgres::connect(&ctx.settings).await?;
                    catalog::captured_tables(&pg, &s.table_allowlist, &s.publication).await?
                }
            };
            let report = export::export(&ctx.settings, &ctx.out, ExportRequest { tables, dir: to, chunk_rows }).await?;
            Ok(ctx.out.report(&report))
        }
        BootstrapAction::Import { from, tables, since, until, date_column } => {
            let range = DateRange::from_flags(date_column.as_deref(), since.as_deref(), until.as_deref())?;
            let tables = tables.as_deref().map(catalog::parse_tables).transpose()?;
            let ch = ClickHouse::new(&ctx.settings)?;
            let report = import::import(&ch, &ctx.out, ImportRequest { dir: from, tables, range }).await?;
            Ok(ctx.out.report(&report))
        }
        BootstrapAction::RecoverSlot { .. } => super::not_implemented("bootstrap recover-slot"),
    }
}
