//! `olmisctl snapshot-tables`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct SnapshotTablesArgs {
    /// Tables to snapshot: schema.table,schema.table
    #[arg(value_name = "TABLES")]
    pub tables: String,
    /// Seconds to wait for the snapshot to finish
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
}

pub async fn run(_args: SnapshotTablesArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("snapshot-tables")
}
