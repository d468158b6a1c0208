//! `olmisctl clickhouse-init`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct ClickhouseInitArgs {
    /// Apply definition changes to existing tables (keeps rows and consumer offsets)
    #[arg(long)]
    pub migrate: bool,
    /// Print the SQL instead of running it
    #[arg(long)]
    pub print_sql: bool,
}

pub async fn run(_args: ClickhouseInitArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("clickhouse-init")
}
