//! Incremental snapshots through Debezium's source signal channel: insert an `execute-snapshot`
//! row into the signal table, then follow the connector's committed offsets until it is done
//! (see [`super::offsets::signal_progress`] for how "done" is decided).

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::SIGNAL_TABLE;
use super::offsets::{self, SignalProgress};
use super::register;
use crate::clients::connect::{self, Connect};
use crate::clients::postgres::query_error;
use crate::error::{Error, Result};
use crate::settings::TableName;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Signal {
    pub id: String,
    pub tables: Vec<String>,
    /// The server's WAL position after the signal committed.
    pub lsn: u64,
}

pub async fn send_execute_snapshot(client: &Client, tables: &[TableName]) -> Result<Signal> {
    let id = format!("olmisctl-{:016x}", rand::random::<u64>());
    let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let data = serde_json::json!({ "data-collections": tables, "type": "incremental" }).to_string();
    client
        .execute(
            &format!("INSERT INTO {SIGNAL_TABLE} (id, type, data) VALUES ($1, 'execute-snapshot', $2)"),
            &[&id, &data],
        )
        .await
        .map_err(|e| query_error(&format!("inserting the execute-snapshot signal into {SIGNAL_TABLE}"), &e))?;
    let lsn: i64 = client
        .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", &[])
        .await
        .map_err(|e| query_error("reading the WAL position", &e))?
        .get(0);
    Ok(Signal { id, tables, lsn: u64::try_from(lsn).unwrap_or(0) })
}

/// Follows the signal until the snapshot finished, the connector failed, or `timeout` passed.
pub async fn follow(
    connect: &Connect,
    connector: &str,
    signal: &Signal,
    timeout: Duration,
    mut on_progress: impl FnMut(&SignalProgress),
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let offset = offsets::read(&connect.offsets(connector).await?);
        let last = offsets::signal_progress(&offset, &signal.id, &signal.tables, signal.lsn);
        on_progress(&last);
        if last == SignalProgress::Finished {
            return Ok(());
        }
        match connect.status(connector).await? {
            None => {
                return Err(Error::service(
                    connect::SERVICE,
                    format!("connector {connector} disappeared during the snapshot"),
                )
                .with_hint("register it again (olmisctl register-connector), then repeat the snapshot"));
            }
            Some(status) => {
                if let Some(failure) = register::failure(&status) {
                    return Err(Error::service(connect::SERVICE, format!("connector {connector}: {failure}"))
                        .with_hint(
                            "the snapshot resumes when the task runs again (olmisctl watchdog --once restarts it)",
                        ));
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the snapshot of {}", signal.tables.join(", ")),
                after_secs: timeout.as_secs(),
                detail: describe(&last),
                hint: Some("it continues in the background; `olmisctl verify cdc` shows when it is done".into()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn describe(progress: &SignalProgress) -> String {
    match progress {
        SignalProgress::Pending => "waiting for the connector to read the signal".into(),
        SignalProgress::Running { remaining } if remaining.is_empty() => "finishing".into(),
        SignalProgress::Running { remaining } => {
            format!("reading {} ({} table(s) to go)", remaining[0], remaining.len())
        }
        SignalProgress::Finished => "finished".into(),
    }
}

/// Snapshot windows Debezium has opened so far: it writes one row per chunk it reads into the
/// signal table, so a count that did not move means the connector read nothing.
async fn windows_opened(client: &Client) -> Result<i64> {
    let row = client
        .query_one(&format!("SELECT count(*) FROM {SIGNAL_TABLE} WHERE type = 'snapshot-window-open'"), &[])
        .await
        .map_err(|e| query_error(&format!("reading {SIGNAL_TABLE}"), &e))?;
    Ok(row.get(0))
}

/// The table has at least one row (a snapshot of an empty table reads nothing).
pub async fn has_rows(client: &Client, table: &TableName) -> Result<bool> {
    // TableName only holds lowercase identifiers: safe to interpolate.
    let row = client
        .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
        .await
        .map_err(|e| query_error(&format!("reading {table}"), &e))?;
    Ok(row.get(0))
}

/// Checks the tables are captured by the registered connector and published, then snapshots
/// them incrementally and follows until done. The publication check is the caller's (preflight).
pub async fn run_incremental(
    connect: &Connect,
    client: &Client,
    connector: &str,
    tables: &[TableName],
    timeout: Duration,
    on_progress: impl FnMut(&SignalProgress),
) -> Result<Signal> {
    let registered = connect.config(connector).await?.ok_or_else(|| {
        Error::service(connect::SERVICE, format!("connector {connector} is not registered"))
            .with_hint("olmisctl register-connector")
    })?;
    let captured = crate::settings::split_list(registered.get("table.include.list").map(String::as_str).unwrap_or(""));
    let outside: Vec<String> = tables.iter().map(|t| t.to_string()).filter(|t| !captured.contains(t)).collect();
    if !outside.is_empty() {
        return Err(Error::usage(format!("not captured by connector {connector}: {}", outside.join(", ")))
            .with_hint("add them to SOURCE_PG_TABLE_ALLOWLIST and run `olmisctl connector refresh`"));
    }
    let windows_before = windows_opened(client).await?;
    let signal = send_execute_snapshot(client, tables).await?;
    follow(connect, connector, &signal, timeout, on_progress).await?;
    let mut any_rows = false;
    for t in tables {
        any_rows |= has_rows(client, t).await?;
    }
    if windows_opened(client).await? == windows_before && any_rows {
        return Err(Error::Failed(format!(
            "connector {connector} acknowledged signal {} but read no rows of {}",
            signal.id,
            signal.tables.join(", ")
        )));
    }
    Ok(signal)
}
