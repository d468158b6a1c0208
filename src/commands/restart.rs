//! `olmisctl restart`: restart services' containers and wait until they are ready again.

use std::time::Duration;

use clap::Args;

use crate::compose::{Stack, start};
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

pub async fn run(args: RestartArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "restart").await?;
    let report = start::restart(&stack, &ctx.out, &args.services, args.timeout.map(Duration::from_secs)).await?;
    Ok(ctx.out.report(&report))
}
