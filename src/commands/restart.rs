//! `olmisctl restart`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Services to restart [default: all]
    pub services: Vec<String>,
    /// Seconds to wait for each service to become healthy again
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

pub async fn run(_args: RestartArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("restart")
}
