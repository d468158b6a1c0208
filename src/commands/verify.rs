//! `olmisctl verify <target>`.

use clap::{Args, ValueEnum};

use crate::clickhouse::{freshness, ingestion};
use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// What to verify
    #[arg(value_enum)]
    pub target: VerifyTarget,
    /// (airflow) Trigger a platform_refresh run and wait for it
    #[arg(long)]
    pub trigger: bool,
    /// (superset) Open each dashboard in headless Chromium and check every chart rendered
    #[arg(long)]
    pub render: bool,
    /// (freshness) Also say whether anything landed after this time (ISO 8601; empty = never):
    /// exit 99 and "new_data": false when nothing did, so a scheduler can skip the build
    #[arg(long, value_name = "TIMESTAMP")]
    pub since: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyTarget {
    /// Every service answers its health check
    Services,
    /// Source, connector, tasks, topics and replication slot
    Cdc,
    /// Raw landing tables, consumers, lag and error rows in ClickHouse
    Ingestion,
    /// The newest raw event is recent enough
    Freshness,
    /// Marts exist, have rows, and the last run's tests passed
    Dbt,
    /// Airflow health, DAGs registered without import errors
    Airflow,
    /// Superset objects of the packages exist
    Superset,
    /// The configured packages are valid
    Packages,
    /// Everything above
    All,
}

pub async fn run(args: VerifyArgs, ctx: &Ctx) -> Result<Exit> {
    match args.target {
        VerifyTarget::Ingestion => Ok(ctx.out.report(&ingestion::run(ctx).await?)),
        VerifyTarget::Freshness => Ok(ctx.out.report(&freshness::run(ctx, args.since.as_deref()).await?)),
        _ => {
            let name = args.target.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
            super::not_implemented(&format!("verify {name}"))
        }
    }
}
