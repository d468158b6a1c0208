//! `olmisctl demo seed`.

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub action: DemoAction,
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Create the OpenLMIS-shaped schemas in the source database and fill them with demo data
    Seed {
        /// Multiply the demo's volume by this factor
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Random seed: the same seed gives the same data
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Drop the demo schemas first and start over
        #[arg(long)]
        reset: bool,
    },
}

pub async fn run(args: DemoArgs, _ctx: &Ctx) -> Result<Exit> {
    match args.action {
        DemoAction::Seed { .. } => super::not_implemented("demo seed"),
    }
}
