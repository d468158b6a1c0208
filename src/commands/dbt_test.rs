//! `olmisctl dbt-test`.

use clap::Args;

use crate::context::Ctx;
use crate::dbt::run::{Goal, run as run_dbt};
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct DbtTestArgs {
    /// dbt selector [default: DBT_SELECT, else the configured packages (core and extensions)]
    #[arg(long, short)]
    pub select: Option<String>,
}

/// `dbt deps`, `dbt source freshness` and `dbt test` in the runner project, then the summary.
pub async fn run(args: DbtTestArgs, ctx: &Ctx) -> Result<Exit> {
    run_dbt(ctx, Goal::Test, args.select).await
}
