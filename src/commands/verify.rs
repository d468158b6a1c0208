//! `olmisctl verify <target>`.

use clap::{Args, ValueEnum};

use crate::checks::CheckReport;
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
