//! `olmisctl reset`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

pub async fn run(_args: ResetArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("reset")
}
