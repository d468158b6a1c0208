//! `olmisctl watchdog`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct WatchdogArgs {
    /// Seconds between checks
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub interval: u64,
    /// Check and repair once, then exit (for cron and tests)
    #[arg(long)]
    pub once: bool,
}

pub async fn run(_args: WatchdogArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("watchdog")
}
