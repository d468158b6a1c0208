//! `olmisctl register-connector`: preflight the source, PUT the rendered Debezium config to Kafka
//! Connect (idempotent: an identical config is left alone), wait until it runs, report the snapshot.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::cdc::offsets::{self, SnapshotState};
use crate::cdc::register::{self, Applied};
use crate::cdc::{connector_config, preflight::Preflight};
use crate::checks::{CheckReport, Level};
use crate::clients::connect::Connect;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::TableName;

#[derive(Debug, Args)]
pub struct RegisterConnectorArgs {
    /// Seconds to wait for the connector and its tasks to be RUNNING
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// Make the source changes the preflight offers (signal and heartbeat tables, publication)
    /// without asking
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct RegisterReport {
    pub connector: String,
    #[serde(flatten)]
    pub applied: Applied,
    pub tables: usize,
    pub topic_prefix: String,
    pub state: String,
    pub snapshot: SnapshotState,
    /// Tables new to the allowlist: streamed from now on, existing rows not yet snapshotted.
    pub new_tables: Vec<TableName>,
    pub source_changes: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report for RegisterReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!(
            "{} {}: {}\n",
            styles.ok.apply_to("✓"),
            styles.bold.apply_to(&self.connector),
            self.applied.describe()
        );
        for change in &self.source_changes {
            out.push_str(&format!("  source: {change}\n"));
        }
        out.push_str(&format!(
            "  tables: {} captured into topics {}.<schema>.<table>\n",
            self.tables, self.topic_prefix
        ));
        out.push_str(&format!("  state: {}\n", self.state));
        out.push_str(&format!("  snapshot: {}\n", describe_snapshot(&self.snapshot)));
        for w in &self.warnings {
            out.push_str(&format!("  {} {w}\n", styles.warn.apply_to("warning:")));
        }
        if !self.new_tables.is_empty() {
            let names: Vec<String> = self.new_tables.iter().map(|t| t.to_string()).collect();
            out.push_str(&format!(
                "  {} new in the allowlist: {}. Their changes stream from now on; `olmisctl connector refresh` snapshots their existing rows.\n",
                styles.warn.apply_to("note:"),
                names.join(", ")
            ));
        }
        out
    }
}

pub fn describe_snapshot(state: &SnapshotState) -> String {
    match state {
        SnapshotState::NoOffsets => "starting (no offsets committed yet)".into(),
        SnapshotState::Initial => "initial snapshot running (`olmisctl verify cdc` shows when it is done)".into(),
        SnapshotState::Incremental { remaining, .. } => {
            format!("incremental snapshot running, {} table(s) to go: {}", remaining.len(), remaining.join(", "))
        }
        SnapshotState::Streaming => "done; streaming changes".into(),
    }
}

pub async fn run(args: RegisterConnectorArgs, ctx: &Ctx) -> Result<Exit> {
    let config = connector_config::load(&ctx.settings)?;
    match prepare_source(ctx, &config, args.yes).await? {
        Source::Ready { preflight, changes } => {
            let report = register(ctx, &config, preflight, changes, Duration::from_secs(args.timeout)).await?;
            Ok(ctx.out.report(&report))
        }
        Source::Blocked(preflight) => Ok(print_blocked(ctx, &preflight)),
    }
}

/// PUTs the config when it differs from the registered one, waits until the connector runs, and
/// reads where its snapshot is.
pub(crate) async fn register(
    ctx: &Ctx,
    config: &connector_config::ConnectorConfig,
    preflight: Preflight,
    source_changes: Vec<String>,
    timeout: Duration,
) -> Result<RegisterReport> {
    let name = ctx.settings.cdc.connector_name.clone();
    let connect = Connect::new(&ctx.settings)?;
    let progress = ctx.out.progress(format!("Registering connector {name}"));
    let (applied, new_tables) = match register::put_if_changed(&connect, &name, config).await {
        Ok(result) => result,
        Err(e) => {
            progress.fail("refused");
            return Err(e);
        }
    };
    progress.finish(applied.describe());
    let progress = ctx.out.progress(format!("Waiting for {name} to run"));
    let status = match register::wait_running(&connect, &name, timeout, |s| progress.update(s)).await {
        Ok(status) => status,
        Err(e) => {
            progress.fail("not running");
            return Err(e);
        }
    };
    progress.finish("running");
    let snapshot = offsets::read(&connect.offsets(&name).await?).snapshot;
    let warnings = preflight
        .checks
        .iter()
        .filter(|c| c.level == Level::Warn)
        .map(|c| format!("{}: {}", c.name, c.message))
        .collect();
    Ok(RegisterReport {
        connector: name,
        applied,
        tables: config.tables().len(),
        topic_prefix: ctx.settings.cdc.topic_prefix.clone(),
        state: register::describe_status(&status),
        snapshot,
        new_tables,
        source_changes,
        warnings,
    })
}

pub(crate) enum Source {
    /// Registration may go ahead; `changes` were made on the source.
    Ready { preflight: Preflight, changes: Vec<String> },
    /// Some findings failed: nothing may be registered until they are fixed.
    Blocked(Preflight),
}

/// The source preflight with its offered fixes: applied with `--yes` or after a yes on the
/// terminal when the user may make them, left for a DBA otherwise (see [`dba_sql`]).
pub(crate) async fn prepare_source(ctx: &Ctx, config: &connector_config::ConnectorConfig, yes: bool) -> Result<Source> {
    let progress = ctx.out.progress("Checking the source database");
    let (mut client, mut found) = match register::preflight(&ctx.settings, config).await {
        Ok(result) => result,
        Err(e) => {
            progress.fail("unreachable");
            return Err(e);
        }
    };
    progress.finish(summary(&found));
    let mut applied = Vec::new();
    let permitted: Vec<&str> = found.fixes.iter().filter(|f| f.permitted).map(|f| f.description.as_str()).collect();
    if !permitted.is_empty() {
        let question = format!("Make these changes to the source database: {}?", permitted.join("; "));
        if yes || ctx.out.confirm(&question) {
            let (after, done) = register::apply_fixes(&ctx.settings, config, &mut client, &found).await?;
            for change in &done {
                ctx.out.info(format!("  applied on the source: {change}"));
            }
            found = after;
            applied = done;
        } else {
            ctx.out.info(
                "The source needs changes olmisctl can make: rerun with --yes to apply them, or apply the SQL below.",
            );
        }
    }
    if found.checks.iter().any(|c| c.level == Level::Fail) {
        return Ok(Source::Blocked(found));
    }
    Ok(Source::Ready { preflight: found, changes: applied })
}

/// The SQL that fixes a blocked preflight, for a DBA to run.
pub(crate) fn dba_sql(preflight: &Preflight) -> Vec<&str> {
    preflight.fixes.iter().flat_map(|f| f.sql.iter().map(String::as_str)).collect()
}

/// Prints a blocked preflight's findings with their fixes, and the SQL for a DBA.
pub(crate) fn print_blocked(ctx: &Ctx, preflight: &Preflight) -> Exit {
    let exit = ctx.out.report(&CheckReport::new("Source preflight", preflight.checks.clone()));
    let sql = dba_sql(preflight);
    if !sql.is_empty() && !ctx.out.json {
        ctx.out.info(format!("SQL for a DBA (as a superuser or the tables' owner):\n  {}", sql.join("\n  ")));
    }
    ctx.out.info("Fix the failed checks above, then run this command again.");
    exit
}

fn summary(p: &Preflight) -> String {
    let count = |level| p.checks.iter().filter(|c| c.level == level).count();
    format!("{} passed, {} warnings, {} failed", count(Level::Pass), count(Level::Warn), count(Level::Fail))
}
