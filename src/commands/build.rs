//! `olmisctl build`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Services whose images to build [default: all with a build section]
    pub services: Vec<String>,
}

pub async fn run(_args: BuildArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("build")
}
