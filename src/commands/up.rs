//! `olmisctl up`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Services to start [default: all]
    pub services: Vec<String>,
    /// Seconds to wait for each service to become healthy [default: per service]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

pub async fn run(_args: UpArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("up")
}
