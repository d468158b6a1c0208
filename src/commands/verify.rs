//! `olmisctl verify <target>`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::checks::{Check, CheckReport};
use crate::clickhouse::{freshness, ingestion};
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

impl VerifyArgs {
    /// `verify all` with every flag at its default (for `setup`).
    pub fn all() -> Result<VerifyArgs> {
        use clap::{Args as _, FromArgMatches as _};
        let bad = |e: clap::Error| crate::error::Error::usage(format!("verify all: {e}"));
        let matches = VerifyArgs::augment_args(clap::Command::new("verify"))
            .try_get_matches_from(["verify", "all"])
            .map_err(bad)?;
        VerifyArgs::from_arg_matches(&matches).map_err(bad)
    }
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
        VerifyTarget::Dbt => Ok(ctx.out.report(&crate::dbt::verify::check(&ctx.settings).await)),
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
    let gate = freshness::Gate {
        since: None,
        max_age_minutes: args.max_age_minutes.unwrap_or(ctx.settings.dbt.freshness_max_age_minutes),
        exit_when_nothing_new: false,
    };
    let gate = &gate;
    let targets: Vec<(&'static str, TargetRun)> = vec![
        ("services", Box::pin(async move { Ok(services(quiet).await) })),
        ("packages", Box::pin(packages(quiet))),
        ("cdc", Box::pin(cdc(quiet))),
        ("ingestion", Box::pin(ingestion::run(quiet))),
        ("freshness", Box::pin(async move { Ok(freshness_checks(&freshness::run(quiet, gate).await?)) })),
        ("dbt", Box::pin(async move { Ok(crate::dbt::verify::check(&quiet.settings).await) })),
        ("airflow", Box::pin(async move { Ok(crate::airflow::verify(quiet, args.trigger, timeout).await?.checks) })),
        ("superset", Box::pin(async move { crate::superset::verify::verify(quiet, args.render, &screenshots).await })),
    ];
    verify_all::run(&ctx.out, targets).await
}

/// The freshness gate as checks, one per topic: fresh and idle topics pass, stale ones fail.
fn freshness_checks(report: &freshness::FreshnessReport) -> CheckReport {
    let checks = report
        .topics
        .iter()
        .map(|t| match t.state {
            freshness::State::Fresh | freshness::State::Idle => Check::pass(&t.topic, &t.detail),
            freshness::State::Stale => Check::fail(&t.topic, &t.detail)
                .with_hint("`olmisctl verify ingestion` shows the consumer; `olmisctl status` the whole pipeline"),
        })
        .collect();
    CheckReport::new(format!("verify freshness (at most {} minutes old)", report.max_age_minutes), checks)
}

/// The configured packages pass the validator (the same rules as `packages validate`).
pub async fn packages(ctx: &Ctx) -> Result<CheckReport> {
    let roots = crate::packages::configured_roots(&ctx.settings)?;
    let report = tokio::task::spawn_blocking(move || crate::packages::validate(&roots))
        .await
        .map_err(|e| crate::error::Error::usage(format!("the validator stopped unexpectedly: {e}")))?;
    Ok(report.to_checks())
}
