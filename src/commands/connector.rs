//! `olmisctl connector status|delete|refresh`.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::register_connector::{Source, describe_snapshot, prepare_source, print_blocked};
use crate::cdc::offsets::{self, DebeziumOffset};
use crate::cdc::register::{self, Applied};
use crate::cdc::{connector_config, snapshot, source_facts};
use crate::checks::Level;
use crate::clients::connect::{Connect, ConnectorStatus};
use crate::clients::postgres;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::TableName;

#[derive(Debug, Args)]
pub struct ConnectorArgs {
    #[command(subcommand)]
    pub action: ConnectorAction,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorAction {
    /// Connector and task states, the trace of a failed task, and offsets
    Status,
    /// Delete the connector (its replication slot stays; see `bootstrap recover-slot`)
    Delete {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Capture newly allowlisted tables: an incremental snapshot, or a full reset
    Refresh {
        #[arg(long, value_enum, default_value_t = RefreshMode::Auto)]
        mode: RefreshMode,
        /// Make the source changes the preflight offers (e.g. add the new tables to the
        /// publication) without asking
        #[arg(long)]
        yes: bool,
        /// Seconds to wait for the snapshot to finish (incremental) or the connector to run (reset)
        #[arg(long, value_name = "SECS", default_value_t = 900)]
        timeout: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshMode {
    /// Incremental when the signal table is usable, otherwise reset
    Auto,
    /// Snapshot only the tables new to the allowlist, through the signal table
    Incremental,
    /// Clear the connector's offsets and snapshot everything again
    Reset,
}

pub async fn run(args: ConnectorArgs, ctx: &Ctx) -> Result<Exit> {
    let connect = Connect::new(&ctx.settings)?;
    let name = ctx.settings.cdc.connector_name.clone();
    match args.action {
        ConnectorAction::Status => status(ctx, &connect, &name).await,
        ConnectorAction::Delete { yes } => delete(ctx, &connect, &name, yes).await,
        ConnectorAction::Refresh { mode, yes, timeout } => refresh(ctx, &connect, &name, mode, yes, timeout).await,
    }
}

#[derive(Debug, Serialize)]
struct StatusReport {
    connector: String,
    registered: bool,
    status: Option<ConnectorStatus>,
    offset: Option<DebeziumOffset>,
    topics: Vec<String>,
}

impl Report for StatusReport {
    fn human(&self, styles: &Styles) -> String {
        let Some(status) = &self.status else {
            return format!(
                "{} connector {} is not registered in Kafka Connect\n  fix: olmisctl register-connector\n",
                styles.fail.apply_to("✗"),
                self.connector
            );
        };
        let state = |s: &str| match s {
            "RUNNING" => styles.ok.apply_to(s).to_string(),
            "FAILED" => styles.fail.apply_to(s).to_string(),
            _ => styles.warn.apply_to(s).to_string(),
        };
        let worker = status.connector.worker_id.as_deref().unwrap_or("?");
        let mut out =
            format!("{} {} on {worker}\n", styles.bold.apply_to(&self.connector), state(&status.connector.state));
        if let Some(trace) = &status.connector.trace {
            out.push_str(&indent_trace(trace));
        }
        for t in &status.tasks {
            out.push_str(&format!("  task {}: {}\n", t.id, state(&t.info.state)));
            if let Some(trace) = &t.info.trace {
                out.push_str(&indent_trace(trace));
            }
        }
        if let Some(offset) = &self.offset {
            let lsn = offset.lsn_commit.map(format_lsn).unwrap_or_else(|| "none yet".into());
            out.push_str(&format!("  offset: commit LSN {lsn}\n  snapshot: {}\n", describe_snapshot(&offset.snapshot)));
        }
        out.push_str(&format!(
            "  topics: {}\n",
            if self.topics.is_empty() { "none yet".into() } else { self.topics.join(", ") }
        ));
        out
    }

    fn exit(&self) -> Exit {
        match &self.status {
            Some(s) if register::failure(s).is_none() => Exit::Ok,
            _ => Exit::Failed,
        }
    }
}

/// The first lines of a Java trace: the cause is at the top; the rest is in the worker's log.
fn indent_trace(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().collect();
    let mut out: String = lines.iter().take(12).map(|l| format!("      {}\n", l.trim_end())).collect();
    if lines.len() > 12 {
        out.push_str(&format!("      ... {} more lines (`olmisctl logs kafka-connect`)\n", lines.len() - 12));
    }
    out
}

/// An LSN as PostgreSQL prints it (`16/B374D848`).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

async fn status(ctx: &Ctx, connect: &Connect, name: &str) -> Result<Exit> {
    // A deleted connector's status can linger for a while; its config can't.
    let status = if connect.config(name).await?.is_some() { connect.status(name).await? } else { None };
    let (offset, topics) = if status.is_some() {
        (Some(offsets::read(&connect.offsets(name).await?)), connect.topics(name).await?)
    } else {
        (None, Vec::new())
    };
    Ok(ctx.out.report(&StatusReport {
        connector: name.to_string(),
        registered: status.is_some(),
        status,
        offset,
        topics,
    }))
}

#[derive(Debug, Serialize)]
struct DeleteReport {
    connector: String,
    deleted: bool,
    slot: String,
}

impl Report for DeleteReport {
    fn human(&self, styles: &Styles) -> String {
        if !self.deleted {
            return format!("connector {} was not registered: nothing to delete\n", self.connector);
        }
        format!(
            "{} deleted connector {}\n  replication slot {} stays and holds WAL until it is read or dropped (see `olmisctl bootstrap recover-slot`)\n",
            styles.ok.apply_to("✓"),
            self.connector,
            self.slot
        )
    }
}

async fn delete(ctx: &Ctx, connect: &Connect, name: &str, yes: bool) -> Result<Exit> {
    if !yes && !ctx.out.confirm(&format!("Delete connector {name}? Change capture stops until it is registered again."))
    {
        return Err(Error::usage(format!("not deleting connector {name} without confirmation"))
            .with_hint("pass --yes to delete without asking"));
    }
    let deleted = connect.delete(name).await?;
    Ok(ctx.out.report(&DeleteReport {
        connector: name.to_string(),
        deleted,
        slot: ctx.settings.source.slot_name.clone(),
    }))
}

#[derive(Debug, Serialize)]
struct RefreshReport {
    connector: String,
    mode: RefreshMode,
    #[serde(flatten)]
    applied: Applied,
    snapshotted: Vec<TableName>,
    source_changes: Vec<String>,
    detail: String,
}

impl Report for RefreshReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!(
            "{} {} refreshed ({:?} mode): config {}\n",
            styles.ok.apply_to("✓"),
            styles.bold.apply_to(&self.connector),
            self.mode,
            self.applied.describe()
        );
        for change in &self.source_changes {
            out.push_str(&format!("  source: {change}\n"));
        }
        out.push_str(&format!("  {}\n", self.detail));
        out
    }
}

async fn refresh(ctx: &Ctx, connect: &Connect, name: &str, mode: RefreshMode, yes: bool, timeout: u64) -> Result<Exit> {
    let config = connector_config::load(&ctx.settings)?;
    let registered = connect.config(name).await?.ok_or_else(|| {
        Error::service(crate::clients::connect::SERVICE, format!("connector {name} is not registered"))
            .with_hint("olmisctl register-connector registers it (and snapshots every table)")
    })?;
    let before: Vec<String> =
        crate::settings::split_list(registered.get("table.include.list").map(String::as_str).unwrap_or(""));
    let client = postgres::connect(&ctx.settings).await?;
    let topics = connect.topics(name).await?;
    let prefix = &ctx.settings.cdc.topic_prefix;
    // New to the allowlist, or captured already but never read: a refresh that failed half-way
    // (config applied, snapshot not done) is finished by the next one.
    let mut new_tables = Vec::new();
    for t in config.tables() {
        let is_new = !before.contains(&t.to_string());
        let unread =
            !topics.contains(&format!("{prefix}.{}.{}", t.schema, t.table)) && snapshot::has_rows(&client, &t).await?;
        if is_new || unread {
            new_tables.push(t);
        }
    }
    if mode != RefreshMode::Reset && new_tables.is_empty() && config.changed_keys(&registered).is_empty() {
        ctx.out.info(format!("connector {name} already captures every allowlisted table: nothing to refresh"));
        return Ok(Exit::Ok);
    }
    let (preflight, source_changes) = match prepare_source(ctx, &config, yes).await? {
        Source::Ready { preflight, changes } => (preflight, changes),
        Source::Blocked(preflight) => return Ok(print_blocked(ctx, &preflight)),
    };
    let signal_usable = preflight.checks.iter().any(|c| c.name == "signal table" && c.level == Level::Pass);
    let mode = match mode {
        RefreshMode::Auto if signal_usable => RefreshMode::Incremental,
        RefreshMode::Auto => RefreshMode::Reset,
        chosen => chosen,
    };
    let timeout = Duration::from_secs(timeout);
    let report = |applied, snapshotted, detail| RefreshReport {
        connector: name.to_string(),
        mode,
        applied,
        snapshotted,
        source_changes: source_changes.clone(),
        detail,
    };
    if mode == RefreshMode::Reset {
        let applied = reset(ctx, connect, name, &config, timeout).await?;
        let detail = "offsets cleared, slot recreated: every table is being snapshotted again".to_string();
        return Ok(ctx.out.report(&report(applied, config.tables(), detail)));
    }

    let progress = ctx.out.progress(format!("Updating connector {name}"));
    let (applied, _) = register::put_if_changed(connect, name, &config).await?;
    wait_for_task_config(connect, name, &config, timeout).await?;
    register::wait_running(connect, name, timeout, |s| progress.update(s)).await?;
    progress.finish(applied.describe());
    if new_tables.is_empty() {
        return Ok(ctx.out.report(&report(
            applied,
            Vec::new(),
            "no table new to the allowlist: nothing to snapshot".into(),
        )));
    }
    let names: Vec<String> = new_tables.iter().map(|t| t.to_string()).collect();
    let progress = ctx.out.progress(format!("Snapshotting {}", names.join(", ")));
    match snapshot::run_incremental(connect, &client, name, &new_tables, timeout, |p| {
        progress.update(snapshot::describe(p))
    })
    .await
    {
        Ok(signal) => {
            progress.finish("finished");
            let detail =
                format!("incremental snapshot {} read {} (other tables untouched)", signal.id, names.join(", "));
            Ok(ctx.out.report(&report(applied, new_tables, detail)))
        }
        Err(e) => {
            progress.fail("not finished");
            Err(e)
        }
    }
}

/// Tasks pick up a new config a moment after the PUT; a signal read by a task still running the
/// old config would be ignored for tables it does not capture.
async fn wait_for_task_config(
    connect: &Connect,
    name: &str,
    config: &connector_config::ConnectorConfig,
    timeout: Duration,
) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    let want = config.get("table.include.list");
    loop {
        let tasks = connect.task_configs(name).await?;
        if !tasks.is_empty() && tasks.iter().all(|t| t.get("table.include.list").map(String::as_str) == want) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("connector {name}'s tasks to take the new config"),
                after_secs: timeout.as_secs(),
                detail: String::new(),
                hint: Some("`olmisctl connector status`".into()),
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Stop, clear offsets, drop the slot, apply the config, resume: Debezium starts over with a new
/// slot and a consistent initial snapshot of every table.
async fn reset(
    ctx: &Ctx,
    connect: &Connect,
    name: &str,
    config: &connector_config::ConnectorConfig,
    timeout: Duration,
) -> Result<Applied> {
    let progress = ctx.out.progress(format!("Resetting connector {name}"));
    progress.update("stopping");
    connect.stop(name).await?;
    if let Err(e) = register::wait_stopped(connect, name, timeout).await {
        progress.fail("did not stop");
        return Err(e);
    }
    progress.update("clearing offsets");
    connect.reset_offsets(name).await?;
    progress.update("dropping the replication slot");
    let client = postgres::connect(&ctx.settings).await?;
    let slot = &ctx.settings.source.slot_name;
    // The walsender may outlive the task by a moment: retry while the slot is still active.
    let mut attempts = 0;
    while let Err(e) = source_facts::drop_slot(&client, slot).await {
        attempts += 1;
        if attempts >= 20 {
            progress.fail("slot still in use");
            return Err(e);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (applied, _) = register::put_if_changed(connect, name, config).await?;
    progress.update("resuming");
    connect.resume(name).await?;
    register::wait_running(connect, name, timeout, |s| progress.update(s)).await?;
    progress.finish("snapshotting again");
    Ok(applied)
}
