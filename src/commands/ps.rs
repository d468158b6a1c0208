//! `olmisctl ps`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Services to show [default: all]
    pub services: Vec<String>,
}

pub async fn run(_args: PsArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("ps")
}
