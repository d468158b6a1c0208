//! `olmisctl ps`: the stack's containers with state, health, uptime and published ports.

use std::time::SystemTime;

use clap::Args;

use crate::compose::Stack;
use crate::compose::listing::Listing;
use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Services to show [default: all]
    pub services: Vec<String>,
}

pub async fn run(args: PsArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "ps").await?;
    let containers = stack.service_containers(&args.services).await?;
    Ok(ctx.out.report(&Listing::new(&stack.project.name, &containers, SystemTime::now())))
}
