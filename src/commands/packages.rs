//! `olmisctl packages fetch|validate`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct PackagesArgs {
    #[command(subcommand)]
    pub action: PackagesAction,
}

#[derive(Debug, Subcommand)]
pub enum PackagesAction {
    /// Clone or update the Git packages at their pinned refs into .packages/
    Fetch,
    /// Check packages for every way they can break or shadow each other
    Validate {
        /// Package directories [default: the configured core and extensions]
        paths: Vec<PathBuf>,
    },
}

pub async fn run(args: PackagesArgs, _ctx: &Ctx) -> Result<Exit> {
    match args.action {
        PackagesAction::Fetch => super::not_implemented("packages fetch"),
        PackagesAction::Validate { .. } => super::not_implemented("packages validate"),
    }
}
