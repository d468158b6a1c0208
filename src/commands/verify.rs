//! `olmisctl verify <target>`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::checks::CheckReport;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::verify_all::{self, TargetRun};

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
    pub screenshots: Option<PathBuf>,
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
    /// Everything above, in parallel, with a summary
    All,
}

pub async fn run(args: VerifyArgs, ctx: &Ctx) -> Result<Exit> {
    match args.target {
        VerifyTarget::Services => Ok(ctx.out.report(&services(ctx).await)),
        VerifyTarget::Packages => Ok(ctx.out.report(&packages(ctx).await?)),
        VerifyTarget::Cdc => Ok(ctx.out.report(&cdc(ctx).await?)),
        VerifyTarget::Airflow => {
            let report = crate::airflow::verify(ctx, args.trigger, Duration::from_secs(args.run_timeout)).await?;
            Ok(ctx.out.report(&report))
        }
        VerifyTarget::Superset => {
            let report = crate::superset::verify::verify(ctx, args.render, &screenshots(&args, ctx)).await?;
            Ok(ctx.out.report(&report))
        }
        VerifyTarget::All => Ok(ctx.out.report(&all(&args, ctx).await)),
        other => {
            let name = other.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
            super::not_implemented(&format!("verify {name}"))
        }
    }
}

fn screenshots(args: &VerifyArgs, ctx: &Ctx) -> PathBuf {
    match &args.screenshots {
        Some(dir) => ctx.settings.project_dir.join(dir),
        None => std::env::temp_dir().join("olmisctl-superset-render"),
    }
}

async fn services(ctx: &Ctx) -> CheckReport {
    let progress = ctx.out.progress("Checking every service's health");
    let checks = crate::services::probe(&ctx.settings).await;
    let report = CheckReport::new("verify services", checks);
    progress.finish(format!("{:?}", report.status).to_lowercase());
    report
}

async fn cdc(ctx: &Ctx) -> Result<CheckReport> {
    Ok(CheckReport::new("verify cdc", crate::cdc::verify::checks(&ctx.settings, &ctx.out).await?))
}

/// Every target at once: they only read, so none depends on another's outcome. Their own progress
/// lines are silenced in favour of one line that counts them down.
pub async fn all(args: &VerifyArgs, ctx: &Ctx) -> verify_all::AllReport {
    let quiet = Ctx { settings: ctx.settings.clone(), out: ctx.out.silenced() };
    let quiet = &quiet;
    let screenshots = screenshots(args, ctx);
    let timeout = Duration::from_secs(args.run_timeout);
    let targets: Vec<(&'static str, TargetRun)> = vec![
        ("services", Box::pin(async move { Ok(services(quiet).await) })),
        ("packages", Box::pin(packages(quiet))),
        ("cdc", Box::pin(cdc(quiet))),
        ("airflow", Box::pin(async move { Ok(crate::airflow::verify(quiet, args.trigger, timeout).await?.checks) })),
        ("superset", Box::pin(async move { crate::superset::verify::verify(quiet, args.render, &screenshots).await })),
    ];
    verify_all::run(&ctx.out, targets).await
}

/// The configured packages pass the validator (the same rules as `packages validate`).
pub async fn packages(ctx: &Ctx) -> Result<CheckReport> {
    let roots = crate::packages::configured_roots(&ctx.settings)?;
    let report = tokio::task::spawn_blocking(move || crate::packages::validate(&roots))
        .await
        .map_err(|e| crate::error::Error::usage(format!("the validator stopped unexpectedly: {e}")))?;
    Ok(report.to_checks())
}
