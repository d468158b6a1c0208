//! `olmisctl recover`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Report what is wrong without changing anything
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(_args: RecoverArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("recover")
}
