//! `olmisctl up`: start the stack (or some services) and wait until each service is ready.

use std::time::Duration;

use clap::Args;

use crate::compose::{Stack, start};
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

pub async fn run(args: UpArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "up").await?;
    let compose = stack.compose(&ctx.settings).await?;
    let report = start::up(&stack, &compose, &ctx.out, &args.services, args.timeout.map(Duration::from_secs)).await?;
    Ok(ctx.out.report(&report))
}
