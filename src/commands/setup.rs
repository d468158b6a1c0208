//! `olmisctl setup`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Seconds to wait for the initial snapshot to land
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub snapshot_timeout: u64,
}

pub async fn run(_args: SetupArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("setup")
}
