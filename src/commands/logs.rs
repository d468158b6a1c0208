//! `olmisctl logs`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow the logs
    #[arg(short, long)]
    pub follow: bool,
    /// Lines to show from the end of each log
    #[arg(long, default_value_t = 100)]
    pub tail: u64,
    /// Services whose logs to show [default: all]
    pub services: Vec<String>,
}

pub async fn run(_args: LogsArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("logs")
}
