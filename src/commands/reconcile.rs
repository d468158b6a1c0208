//! `olmisctl reconcile`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Tables to compare: schema.table,... [default: all captured tables]
    #[arg(long)]
    pub tables: Option<String>,
}

pub async fn run(_args: ReconcileArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("reconcile")
}
