//! `olmisctl dbt-build`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DbtBuildArgs {
    /// dbt selector [default: DBT_SELECT, else the core package]
    #[arg(long, short)]
    pub select: Option<String>,
    /// Rebuild incremental models from scratch
    #[arg(long)]
    pub full_refresh: bool,
}

pub async fn run(_args: DbtBuildArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("dbt-build")
}
