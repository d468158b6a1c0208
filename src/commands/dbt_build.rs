//! `olmisctl dbt-build`.

use clap::Args;

use crate::context::Ctx;
use crate::dbt::run::{Goal, run as run_dbt};
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DbtBuildArgs {
    /// dbt selector [default: DBT_SELECT, else the configured packages (core and extensions)]
    #[arg(long, short)]
    pub select: Option<String>,
    /// Rebuild incremental models from scratch
    #[arg(long)]
    pub full_refresh: bool,
}

/// `dbt deps`, `dbt source freshness` and `dbt build` in the runner project, then the summary.
pub async fn run(args: DbtBuildArgs, ctx: &Ctx) -> Result<Exit> {
    run_dbt(ctx, Goal::Build { full_refresh: args.full_refresh }, args.select).await
}
