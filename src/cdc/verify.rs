//! `verify cdc`: Kafka Connect and the Debezium plugin, the source preflight, the connector and its
//! tasks, a topic per captured table, the slot's confirmed LSN advancing, and the snapshot state.

use std::time::{Duration, Instant};

use super::connector_config::{self, CONNECTOR_CLASS};
use super::offsets::{self, SnapshotState};
use super::{register, source_facts};
use crate::checks::Check;
use crate::clients::connect::Connect;
use crate::clients::kafka;
use crate::error::Result;
use crate::output::Output;
use crate::settings::Settings;

pub async fn checks(settings: &Settings, out: &Output) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let config = connector_config::load(settings)?;
    let connect = Connect::new(settings)?;
    let name = &settings.cdc.connector_name;

    match connect.plugins().await {
        Err(e) => {
            checks
                .push(Check::fail("kafka connect", e.to_string()).with_hint(e.hint().unwrap_or("start Kafka Connect")));
            return Ok(checks);
        }
        Ok(plugins) => checks.push(match plugins.iter().find(|p| p.class == CONNECTOR_CLASS) {
            Some(p) => Check::pass(
                "kafka connect",
                format!("reachable, Debezium PostgreSQL {}", p.version.as_deref().unwrap_or("?")),
            ),
            None => Check::fail("kafka connect", "the Debezium PostgreSQL connector plugin is not installed")
                .with_hint("install debezium-connector-postgres on the worker's plugin.path"),
        }),
    }

    let client = match register::preflight(settings, &config).await {
        Ok((client, preflight)) => {
            checks.extend(preflight.checks);
            Some(client)
        }
        Err(e) => {
            checks.push(Check::fail("source", e.to_string()).with_hint(e.hint().unwrap_or("check SOURCE_PG_*")));
            None
        }
    };

    let status = if connect.config(name).await?.is_some() { connect.status(name).await? } else { None };
    let Some(status) = status else {
        checks.push(
            Check::fail("connector", format!("{name} is not registered")).with_hint("olmisctl register-connector"),
        );
        return Ok(checks);
    };
    checks.push(match status.connector.state.as_str() {
        "RUNNING" => Check::pass("connector", format!("{name} RUNNING")),
        "FAILED" => Check::fail(
            "connector",
            format!("{name} FAILED: {}", register::first_line(status.connector.trace.as_deref())),
        )
        .with_hint("olmisctl watchdog --once restarts it; olmisctl connector status shows the trace"),
        other => Check::warn("connector", format!("{name} is {other}")).with_hint("olmisctl connector status"),
    });
    checks.push(if status.all_running() {
        Check::pass("tasks", format!("{} task(s) RUNNING", status.tasks.len()))
    } else if let Some(failure) = register::failure(&status) {
        Check::fail("tasks", failure)
            .with_hint("olmisctl watchdog --once restarts failed tasks; olmisctl connector status shows the trace")
    } else {
        Check::warn("tasks", register::describe_status(&status))
    });

    let snapshot = offsets::read(&connect.offsets(name).await?).snapshot;
    let snapshot_done = snapshot == SnapshotState::Streaming;
    let prefix = &settings.cdc.topic_prefix;
    let mut topics = connect.topics(name).await?;
    let unseen: Vec<String> = config
        .tables()
        .iter()
        .map(|t| format!("{prefix}.{}.{}", t.schema, t.table))
        .filter(|t| !topics.contains(t))
        .collect();
    if !unseen.is_empty() {
        // Connect forgets a connector's topics when it is deleted and registered again (and the
        // topics list can be reset by hand): the broker knows which exist.
        let timeout = std::time::Duration::from_secs(10);
        match kafka::existing_topics(&settings.cdc.kafka_bootstrap_servers, &unseen, timeout).await {
            Ok(found) => topics.extend(found),
            Err(e) => tracing::warn!("cannot list the topics in Kafka: {e}"),
        }
    }
    let mut empty = Vec::new();
    let mut missing = Vec::new();
    for t in config.tables() {
        if topics.contains(&format!("{prefix}.{}.{}", t.schema, t.table)) {
            continue;
        }
        let has_rows = match &client {
            Some(c) => super::snapshot::has_rows(c, &t).await.unwrap_or(true),
            None => true,
        };
        if has_rows { missing.push(t.to_string()) } else { empty.push(t.to_string()) }
    }
    let total = config.tables().len();
    checks.push(if !missing.is_empty() && snapshot_done {
        Check::fail("topics", format!("no topic yet for {} although the table(s) have rows", missing.join(", ")))
            .with_hint(
                "olmisctl snapshot-tables <tables> reads them again; olmisctl connector status shows the connector",
            )
    } else if !missing.is_empty() {
        Check::warn("topics", format!("no topic yet for {} (snapshot still running)", missing.join(", ")))
    } else if !empty.is_empty() {
        Check::warn(
            "topics",
            format!(
                "{} of {total} topics exist; {} are empty tables: their topic appears with the first row",
                total - empty.len(),
                empty.join(", ")
            ),
        )
    } else {
        Check::pass("topics", format!("all {total} topics exist ({prefix}.<schema>.<table>)"))
    });

    if let Some(client) = &client {
        checks.push(slot_advances(client, settings, out).await?);
    }
    checks.push(match &snapshot {
        SnapshotState::Streaming => Check::pass("snapshot", "done; streaming changes"),
        SnapshotState::NoOffsets => {
            Check::warn("snapshot", "no offsets committed yet: the initial snapshot is starting")
        }
        SnapshotState::Initial => Check::warn("snapshot", "initial snapshot in progress"),
        SnapshotState::Incremental { remaining, .. } => {
            Check::warn("snapshot", format!("incremental snapshot in progress: {}", remaining.join(", ")))
        }
    });
    Ok(checks)
}

/// The slot's confirmed LSN must move: Debezium confirms on every offset commit, and the heartbeat
/// makes a change to confirm even on an idle source. Waits at most two heartbeats plus a default
/// offset-flush interval, and stops as soon as it moves.
async fn slot_advances(client: &tokio_postgres::Client, settings: &Settings, out: &Output) -> Result<Check> {
    let slot = &settings.source.slot_name;
    let heartbeat_ms: u64 =
        settings.layers.get("DEBEZIUM_HEARTBEAT_INTERVAL_MS").and_then(|r| r.value.parse().ok()).unwrap_or(10_000);
    let limit = Duration::from_millis(heartbeat_ms * 2) + Duration::from_secs(65);
    let Some((active, first)) = source_facts::slot_position(client, slot).await? else {
        return Ok(Check::fail("slot advances", format!("slot {slot} does not exist"))
            .with_hint("olmisctl register-connector creates it"));
    };
    if !active {
        return Ok(Check::fail("slot advances", format!("slot {slot} is inactive: nothing reads it"))
            .with_hint("olmisctl watchdog --once"));
    }
    let progress = out.progress(format!("Waiting for slot {slot} to confirm new WAL"));
    let started = Instant::now();
    while started.elapsed() < limit {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some((_, now)) = source_facts::slot_position(client, slot).await?
            && now != first
        {
            progress.finish("advanced");
            return Ok(Check::pass(
                "slot advances",
                format!("{slot} confirmed new WAL within {}s", started.elapsed().as_secs().max(1)),
            ));
        }
    }
    progress.fail("did not advance");
    Ok(Check::fail("slot advances", format!("{slot} confirmed nothing new in {}s", limit.as_secs()))
        .with_hint("the connector is stuck although RUNNING: olmisctl watchdog --once restarts it"))
}
