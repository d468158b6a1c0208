//! `olmisctl bootstrap export|import|recover-slot`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::bootstrap::catalog;
use crate::bootstrap::export::{self, ExportRequest};
use crate::bootstrap::import::{self, DateRange, ImportRequest};
use crate::bootstrap::recover::{self, Options, Step};
use crate::context::Ctx;
use crate::error::{Exit, Result};

const RECOVER_STEPS: &str = "\
Steps, each logged to DIR/audit.jsonl (a failure names the step to resume from):
  delete-connector, drop-slot, create-slot, export, import,
  register-connector (snapshot.mode=no_data), wait-streaming, dbt-build, reconcile
With a healthy slot it does nothing (exit 0). Without a terminal, --yes is required.";

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
        #[arg(long, default_value_t = export::DEFAULT_CHUNK_ROWS, value_name = "N")]
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
    #[command(after_help = RECOVER_STEPS)]
    RecoverSlot {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Start at this step (after fixing what stopped a previous run)
        #[arg(long, value_enum, value_name = "STEP")]
        resume_from: Option<Step>,
        /// Working directory: the export and the audit log (audit.jsonl)
        #[arg(long, default_value = "bootstrap/recover-slot")]
        dir: PathBuf,
        /// Seconds to wait for the slot to be released, the connector to stream, and the data to agree
        #[arg(long, default_value_t = 300, value_name = "SECS")]
        timeout: u64,
    },
}

pub async fn run(args: BootstrapArgs, ctx: &Ctx) -> Result<Exit> {
    match args.action {
        BootstrapAction::Export { tables, to, chunk_rows } => {
            let tables = match tables {
                Some(list) => catalog::parse_tables(&list)?,
                None => catalog::captured_tables(&ctx.settings)?,
            };
            let report = export::export(&ctx.settings, &ctx.out, ExportRequest { tables, dir: to, chunk_rows }).await?;
            Ok(ctx.out.report(&report))
        }
        BootstrapAction::Import { from, tables, since, until, date_column } => {
            let range = DateRange::from_flags(date_column.as_deref(), since.as_deref(), until.as_deref())?;
            let tables = tables.as_deref().map(catalog::parse_tables).transpose()?;
            let report = import::import(&ctx.settings, &ctx.out, ImportRequest { dir: from, tables, range }).await?;
            Ok(ctx.out.report(&report))
        }
        BootstrapAction::RecoverSlot { yes, resume_from, dir, timeout } => {
            let options = Options { yes, resume_from, dir, timeout: Duration::from_secs(timeout) };
            let report = recover::recover_slot(ctx, options).await?;
            Ok(ctx.out.report(&report))
        }
    }
}
