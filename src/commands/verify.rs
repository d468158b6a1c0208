//! `olmisctl verify <target>`.

use clap::{Args, ValueEnum};

use crate::checks::CheckReport;
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
    /// (airflow) Seconds to wait for the triggered run
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub run_timeout: u64,
    /// (superset) Open each dashboard in headless Chromium and check every chart rendered
    #[arg(long)]
    pub render: bool,
    /// (superset --render) Folder for one screenshot per dashboard [default: <temp dir>/olmisctl-superset-render]
    #[arg(long, value_name = "DIR")]
    pub screenshots: Option<std::path::PathBuf>,
    /// (freshness) Also say whether anything landed after this time (ISO 8601; empty = never):
    /// "new_data" in the JSON
    #[arg(long, value_name = "TIMESTAMP")]
    pub since: Option<String>,
    /// (freshness --since) Exit with this code when nothing landed since then, so a scheduler can
    /// skip the build (Airflow's BashOperator skips a task on 99, the only code reserved for it)
    #[arg(long, value_name = "CODE", requires = "since", value_parser = ["99"])]
    pub nothing_new_exit_code: Option<String>,
    /// (freshness) Maximum age of the newest event [default: FRESHNESS_MAX_AGE_MINUTES]
    #[arg(long, value_name = "MINUTES")]
    pub max_age_minutes: Option<u32>,
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
        VerifyTarget::Freshness => {
            let gate = freshness::Gate {
                since: args.since.as_deref(),
                max_age_minutes: args.max_age_minutes.unwrap_or(ctx.settings.dbt.freshness_max_age_minutes),
                exit_when_nothing_new: args.nothing_new_exit_code.is_some(),
            };
            Ok(ctx.out.report(&freshness::run(ctx, &gate).await?))
        }
        VerifyTarget::Packages => Ok(ctx.out.report(&packages(ctx).await?)),
        VerifyTarget::Cdc => {
            let checks = crate::cdc::verify::checks(&ctx.settings, &ctx.out).await?;
            Ok(ctx.out.report(&CheckReport::new("verify cdc", checks)))
        }
        VerifyTarget::Airflow => {
            let timeout = std::time::Duration::from_secs(args.run_timeout);
            let report = crate::airflow::verify(ctx, args.trigger, timeout).await?;
            Ok(ctx.out.report(&report))
        }
        VerifyTarget::Superset => {
            let screenshots = match &args.screenshots {
                Some(dir) => ctx.settings.project_dir.join(dir),
                None => std::env::temp_dir().join("olmisctl-superset-render"),
            };
            let report = crate::superset::verify::verify(ctx, args.render, &screenshots).await?;
            Ok(ctx.out.report(&report))
        }
        other => {
            let name = other.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
            super::not_implemented(&format!("verify {name}"))
        }
    }
}

/// The configured packages pass the validator (the same rules as `packages validate`).
pub async fn packages(ctx: &Ctx) -> Result<CheckReport> {
    let roots = crate::packages::configured_roots(&ctx.settings)?;
    let report = tokio::task::spawn_blocking(move || crate::packages::validate(&roots))
        .await
        .map_err(|e| crate::error::Error::usage(format!("the validator stopped unexpectedly: {e}")))?;
    Ok(report.to_checks())
}
