//! `olmisctl down`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Services to stop [default: all]
    pub services: Vec<String>,
}

pub async fn run(_args: DownArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("down")
}
