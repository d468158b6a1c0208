//! `olmisctl dbt-test`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DbtTestArgs {
    /// dbt selector [default: DBT_SELECT, else the core package]
    #[arg(long, short)]
    pub select: Option<String>,
}

pub async fn run(_args: DbtTestArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("dbt-test")
}
