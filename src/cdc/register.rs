//! Registration, shared by `register-connector`, `connector refresh` and the watchdog: the source
//! preflight, the idempotent config PUT, and waiting for the connector to run.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use super::connector_config::ConnectorConfig;
use super::offsets::{self, SnapshotState};
use super::preflight::{self, Preflight, Wants};
use super::source_facts;
use crate::clients::connect::{self, Connect, ConnectorStatus, PutOutcome};
use crate::clients::postgres;
use crate::error::{Error, Result};
use crate::settings::{Settings, TableName};

pub fn wants(settings: &Settings, config: &ConnectorConfig) -> Wants {
    Wants {
        user: settings.source.user.clone(),
        database: settings.source.db.clone(),
        publication: settings.source.publication.clone(),
        slot: settings.source.slot_name.clone(),
        tables: config.tables(),
    }
}

/// Connects to the source and evaluates the preflight; the client is returned for applying fixes.
pub async fn preflight(settings: &Settings, config: &ConnectorConfig) -> Result<(Client, Preflight)> {
    let client = postgres::connect(settings).await?;
    let wants = wants(settings, config);
    let facts = source_facts::gather(&client, &wants).await?;
    Ok((client, preflight::evaluate(&facts, &wants)))
}

/// Applies the permitted fixes in order, then evaluates again. Returns what was applied.
pub async fn apply_fixes(
    settings: &Settings,
    config: &ConnectorConfig,
    client: &mut Client,
    found: &Preflight,
) -> Result<(Preflight, Vec<String>)> {
    let mut applied = Vec::new();
    for fix in found.fixes.iter().filter(|f| f.permitted) {
        source_facts::apply(client, fix).await?;
        applied.push(fix.description.clone());
    }
    let wants = wants(settings, config);
    let facts = source_facts::gather(client, &wants).await?;
    Ok((preflight::evaluate(&facts, &wants), applied))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Applied {
    Created,
    Updated { changed_keys: Vec<String> },
    Unchanged,
}

impl Applied {
    pub fn describe(&self) -> String {
        match self {
            Applied::Created => "created".into(),
            Applied::Updated { changed_keys } => format!("updated ({})", changed_keys.join(", ")),
            Applied::Unchanged => "unchanged".into(),
        }
    }
}

/// PUTs the config unless Connect already has exactly this one (a PUT restarts the connector, so
/// an unchanged config is left alone). Also returns the tables new to the allowlist: Debezium
/// streams their changes from now on but does not snapshot their existing rows by itself.
pub async fn put_if_changed(
    connect: &Connect,
    name: &str,
    config: &ConnectorConfig,
) -> Result<(Applied, Vec<TableName>)> {
    let registered = connect.config(name).await?;
    let Some(registered) = registered else {
        connect.put_config(name, config.map()).await?;
        return Ok((Applied::Created, Vec::new()));
    };
    let before: Vec<TableName> =
        crate::settings::split_list(registered.get("table.include.list").map(String::as_str).unwrap_or(""))
            .iter()
            .filter_map(|t| TableName::parse(t))
            .collect();
    let new_tables: Vec<TableName> = config.tables().into_iter().filter(|t| !before.contains(t)).collect();
    let changed_keys = config.changed_keys(&registered);
    if changed_keys.is_empty() {
        return Ok((Applied::Unchanged, new_tables));
    }
    match connect.put_config(name, config.map()).await? {
        PutOutcome::Created => Ok((Applied::Created, Vec::new())),
        PutOutcome::Updated => Ok((Applied::Updated { changed_keys }, new_tables)),
    }
}

/// Waits until the connector and all its tasks are RUNNING (seen twice in a row: the status lags
/// right after a PUT). A FAILED connector or task ends the wait with its trace's first line.
pub async fn wait_running(
    connect: &Connect,
    name: &str,
    timeout: Duration,
    mut on_state: impl FnMut(&str),
) -> Result<ConnectorStatus> {
    let deadline = Instant::now() + timeout;
    let mut last = "not registered yet".to_string();
    let mut running_seen = 0;
    loop {
        if let Some(status) = connect.status(name).await? {
            last = describe_status(&status);
            on_state(&last);
            if let Some(failure) = failure(&status) {
                return Err(Error::service(connect::SERVICE, format!("connector {name}: {failure}")).with_hint(
                    "`olmisctl connector status` shows the full trace; `olmisctl logs kafka-connect` the worker's log",
                ));
            }
            running_seen = if status.all_running() { running_seen + 1 } else { 0 };
            if running_seen >= 2 {
                return Ok(status);
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("connector {name} to run"),
                after_secs: timeout.as_secs(),
                detail: last,
                hint: Some("`olmisctl connector status` shows where it is stuck".into()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until a stopped connector reports STOPPED with no tasks (only then can its offsets change).
pub async fn wait_stopped(connect: &Connect, name: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let stopped = connect.status(name).await?.is_some_and(|s| s.connector.state == "STOPPED" && s.tasks.is_empty());
        if stopped {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("connector {name} to stop"),
                after_secs: timeout.as_secs(),
                detail: String::new(),
                hint: Some("`olmisctl connector status`".into()),
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Whether the connector reads its slot (the source's view; a task can say RUNNING while it
/// retries). During the initial snapshot the slot is legitimately idle (streaming starts
/// afterwards), which counts as read.
pub async fn slot_read(settings: &Settings, connect: &Connect) -> Result<bool> {
    let snapshot = offsets::read(&connect.offsets(&settings.cdc.connector_name).await?).snapshot;
    if matches!(snapshot, SnapshotState::Initial | SnapshotState::NoOffsets) {
        return Ok(true);
    }
    let client = postgres::connect(settings).await?;
    let position = source_facts::slot_position(&client, &settings.source.slot_name).await?;
    Ok(matches!(position, Some((true, _))))
}

/// "connector RUNNING, tasks: 0 RUNNING".
pub fn describe_status(status: &ConnectorStatus) -> String {
    let tasks: Vec<String> = status.tasks.iter().map(|t| format!("{} {}", t.id, t.info.state)).collect();
    let tasks = if tasks.is_empty() { "no tasks yet".to_string() } else { format!("tasks: {}", tasks.join(", ")) };
    format!("connector {}, {tasks}", status.connector.state)
}

/// The first FAILED part and the first line of its trace.
pub fn failure(status: &ConnectorStatus) -> Option<String> {
    if status.connector.state == "FAILED" {
        return Some(format!("FAILED: {}", first_line(status.connector.trace.as_deref())));
    }
    status.failed_tasks().next().map(|t| format!("task {} FAILED: {}", t.id, first_line(t.info.trace.as_deref())))
}

pub fn first_line(trace: Option<&str>) -> String {
    trace.and_then(|t| t.lines().next()).unwrap_or("no trace").trim().to_string()
}
