//! What the raw layer looks like right now, per topic: objects present, events landed, errors,
//! and the Kafka consumer's state. Read-only; the verdicts are in `ingestion` and `freshness`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::ddl::TopicNames;
use super::lag;
use super::template::literal;
use super::topics::Topic;
use crate::clients::clickhouse::ClickHouse;
use crate::error::{Error, Result};

/// Numbers as JSON numbers (ClickHouse quotes 64-bit integers by default).
const NUMBERS: &str = "SETTINGS output_format_json_quote_64bit_integers = 0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub assigned_partitions: usize,
    pub last_poll_ms: Option<i64>,
    pub last_commit_ms: Option<i64>,
    pub messages_read: u64,
    /// The most recent error the consumer met: time and first line.
    pub last_exception: Option<(i64, String)>,
    pub lag: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub topic: Topic,
    /// Objects of the topic's pipeline that do not exist.
    pub missing: Vec<String>,
    pub events: u64,
    pub newest_ingested_ms: Option<i64>,
    pub newest_source_ms: Option<i64>,
    /// `op` of the most recently landed event.
    pub newest_op: Option<String>,
    /// Events landed after `--since`, when given.
    pub events_since: Option<u64>,
    pub errors: u64,
    pub newest_error: Option<String>,
    pub consumer: Option<Consumer>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The raw database observed (CLICKHOUSE_RAW_DATABASE).
    pub raw: String,
    /// The server's clock, so ages don't depend on this machine's.
    pub now_ms: i64,
    pub since_ms: Option<i64>,
    pub errors_table_exists: bool,
    pub topics: Vec<Observation>,
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Deserialize)]
struct EventStats {
    t: String,
    events: u64,
    newest_ingested: i64,
    newest_source: i64,
    newest_op: String,
    since: u64,
}

#[derive(Deserialize)]
struct ErrorStats {
    kafka_topic: String,
    errors: u64,
    newest_error: String,
}

#[derive(Deserialize)]
struct ConsumerRow {
    table: String,
    assigned: usize,
    last_poll: i64,
    last_commit: i64,
    messages_read: u64,
    exception_times: Vec<i64>,
    exception_texts: Vec<String>,
    rdkafka_stat: String,
}

#[derive(Deserialize)]
struct Clock {
    now: i64,
    since: Option<i64>,
}

/// The server's clock, and `since` (any common timestamp form; UTC unless it says otherwise)
/// as epoch milliseconds.
async fn clock(ch: &ClickHouse, since: Option<&str>) -> Result<(i64, Option<i64>)> {
    let since_sql = match since {
        Some(s) => format!("toUnixTimestamp64Milli(parseDateTime64BestEffortOrNull({}, 3, 'UTC'))", literal(s)),
        None => "CAST(NULL AS Nullable(Int64))".to_string(),
    };
    let rows: Vec<Clock> =
        ch.rows(&format!("SELECT toUnixTimestamp64Milli(now64(3)) AS now, {since_sql} AS since {NUMBERS}")).await?;
    let clock =
        rows.into_iter().next().ok_or_else(|| Error::service("clickhouse", "SELECT now64() returned no row"))?;
    if let (Some(text), None) = (since, clock.since) {
        return Err(Error::usage(format!("--since {text:?} is not a timestamp"))
            .with_hint("use ISO 8601, e.g. 2026-01-31T17:45:00Z or 2026-01-31 17:45:00+02:00"));
    }
    Ok((clock.now, clock.since))
}

/// `raw`: the raw database (CLICKHOUSE_RAW_DATABASE). `since`: also count the events landed after
/// this timestamp.
pub async fn observe(ch: &ClickHouse, raw: &str, topics: &[Topic], since: Option<&str>) -> Result<Snapshot> {
    let (now_ms, since_ms) = clock(ch, since).await?;
    let existing: BTreeSet<String> = ch
        .rows::<Name>(&format!("SELECT name FROM system.tables WHERE database = {}", literal(raw)))
        .await?
        .into_iter()
        .map(|r| format!("{raw}.{}", r.name))
        .collect();
    let events = event_stats(ch, raw, topics, &existing, since_ms).await?;
    let errors_table = format!("{raw}.errors");
    let errors_table_exists = existing.contains(&errors_table);
    let errors = if errors_table_exists { error_stats(ch, &errors_table, topics).await? } else { BTreeMap::new() };
    let consumers = consumers(ch, raw).await?;
    let observations = topics
        .iter()
        .map(|topic| {
            let names = TopicNames::of(raw, topic);
            let stats = events.get(&topic.id());
            let landed = stats.filter(|s| s.events > 0);
            let error = errors.get(&topic.name);
            Observation {
                topic: topic.clone(),
                missing: names.all().iter().filter(|n| !existing.contains(**n)).map(|n| n.to_string()).collect(),
                events: stats.map_or(0, |s| s.events),
                newest_ingested_ms: landed.map(|s| s.newest_ingested),
                newest_source_ms: landed.map(|s| s.newest_source),
                newest_op: landed.map(|s| s.newest_op.clone()),
                events_since: since_ms.map(|_| stats.map_or(0, |s| s.since)),
                errors: error.map_or(0, |e| e.errors),
                newest_error: error.map(|e| e.newest_error.clone()),
                consumer: consumers.get(&names.kafka).map(|rows| consumer(rows, &topic.name)),
            }
        })
        .collect();
    Ok(Snapshot { raw: raw.to_string(), now_ms, since_ms, errors_table_exists, topics: observations })
}

async fn event_stats(
    ch: &ClickHouse,
    raw: &str,
    topics: &[Topic],
    existing: &BTreeSet<String>,
    since_ms: Option<i64>,
) -> Result<BTreeMap<String, EventStats>> {
    let since = since_ms.map_or("countIf(false)".to_string(), |ms| {
        format!("countIf(ingested_at > fromUnixTimestamp64Milli(toInt64({ms})))")
    });
    let selects: Vec<String> = topics
        .iter()
        .filter(|t| existing.contains(&TopicNames::of(raw, t).events))
        .map(|t| {
            format!(
                "SELECT {id} AS t, count() AS events, toUnixTimestamp64Milli(max(ingested_at)) AS newest_ingested, \
                 max(source_ts_ms) AS newest_source, argMax(op, (ingested_at, kafka_offset)) AS newest_op, \
                 {since} AS since FROM {table}",
                id = literal(&t.id()),
                table = TopicNames::of(raw, t).events
            )
        })
        .collect();
    if selects.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<EventStats> = ch.rows(&format!("{} {NUMBERS}", selects.join("\nUNION ALL\n"))).await?;
    Ok(rows.into_iter().map(|r| (r.t.clone(), r)).collect())
}

async fn error_stats(ch: &ClickHouse, errors_table: &str, topics: &[Topic]) -> Result<BTreeMap<String, ErrorStats>> {
    let names = topics.iter().map(|t| literal(&t.name)).collect::<Vec<_>>().join(", ");
    let rows: Vec<ErrorStats> = ch
        .rows(&format!(
            "SELECT kafka_topic, count() AS errors, argMax(error, ingested_at) AS newest_error \
             FROM {errors_table} WHERE kafka_topic IN ({names}) GROUP BY kafka_topic {NUMBERS}"
        ))
        .await?;
    Ok(rows.into_iter().map(|r| (r.kafka_topic.clone(), r)).collect())
}

async fn consumers(ch: &ClickHouse, raw: &str) -> Result<BTreeMap<String, Vec<ConsumerRow>>> {
    let rows: Vec<ConsumerRow> = ch
        .rows(&format!(
            "SELECT table, length(assignments.partition_id) AS assigned, \
             toInt64(toUnixTimestamp(last_poll_time)) * 1000 AS last_poll, \
             toInt64(toUnixTimestamp(last_commit_time)) * 1000 AS last_commit, \
             num_messages_read AS messages_read, \
             arrayMap(t -> toInt64(toUnixTimestamp(t)) * 1000, exceptions.time) AS exception_times, \
             exceptions.text AS exception_texts, rdkafka_stat \
             FROM system.kafka_consumers WHERE database = {} {NUMBERS}",
            literal(raw)
        ))
        .await?;
    let mut by_table: BTreeMap<String, Vec<ConsumerRow>> = BTreeMap::new();
    for row in rows {
        by_table.entry(format!("{raw}.{}", row.table)).or_default().push(row);
    }
    Ok(by_table)
}

/// One table's consumers (one unless kafka_num_consumers was raised) folded into one state.
fn consumer(rows: &[ConsumerRow], topic: &str) -> Consumer {
    // ClickHouse shows "never" as the epoch.
    let time = |ms: i64| (ms > 0).then_some(ms);
    let last_exception = rows
        .iter()
        .flat_map(|r| r.exception_times.iter().copied().zip(r.exception_texts.iter()))
        .max_by_key(|(t, _)| *t)
        .map(|(t, text)| (t, text.lines().next().unwrap_or_default().trim().to_string()));
    let lags: Vec<Option<i64>> = rows.iter().map(|r| lag::committed_lag(&r.rdkafka_stat, topic)).collect();
    Consumer {
        assigned_partitions: rows.iter().map(|r| r.assigned).sum(),
        last_poll_ms: rows.iter().filter_map(|r| time(r.last_poll)).max(),
        last_commit_ms: rows.iter().filter_map(|r| time(r.last_commit)).max(),
        messages_read: rows.iter().map(|r| r.messages_read).sum(),
        last_exception,
        // Every consumer of the table must report for the sum to mean anything.
        lag: lags.iter().copied().sum::<Option<i64>>(),
    }
}

/// A consumer that has not polled for this long is stuck or gone.
const POLL_STALE_MS: i64 = 60_000;
/// Errors older than this (and older than the last commit) are history, not state.
const ERROR_WINDOW_MS: i64 = 600_000;

/// librdkafka's error for a subscribed topic that does not exist.
const UNKNOWN_TOPIC: &str = "Unknown topic or partition";

/// The consumer's condition, worst first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    NotPolling {
        last_poll_ms: Option<i64>,
    },
    /// The topic does not exist in Kafka: Debezium creates it with the table's first event.
    TopicMissing,
    Failing {
        at_ms: i64,
        message: String,
    },
    NoPartitions,
    Healthy,
}

impl Consumer {
    pub fn health(&self, now_ms: i64) -> Health {
        if self.last_poll_ms.is_none_or(|t| now_ms - t > POLL_STALE_MS) {
            return Health::NotPolling { last_poll_ms: self.last_poll_ms };
        }
        let current_error = self.last_exception.as_ref().filter(|(at, message)| {
            let topic_came = self.assigned_partitions > 0 && message.contains(UNKNOWN_TOPIC);
            !topic_came && now_ms - at < ERROR_WINDOW_MS && self.last_commit_ms.is_none_or(|c| *at >= c)
        });
        match current_error {
            Some((_, message)) if message.contains(UNKNOWN_TOPIC) => Health::TopicMissing,
            Some((at, message)) => Health::Failing { at_ms: *at, message: message.clone() },
            None if self.assigned_partitions == 0 => Health::NoPartitions,
            None => Health::Healthy,
        }
    }

    /// Everything in Kafka has landed, as far as ClickHouse can tell: healthy, and no lag (or
    /// lag unknown: a healthy consumer does not stay behind).
    pub fn caught_up(&self, now_ms: i64) -> bool {
        self.health(now_ms) == Health::Healthy && self.lag.is_none_or(|l| l == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn consumer() -> Consumer {
        Consumer {
            assigned_partitions: 1,
            last_poll_ms: Some(NOW - 1_000),
            last_commit_ms: Some(NOW - 5_000),
            messages_read: 10,
            last_exception: None,
            lag: Some(0),
        }
    }

    #[test]
    fn healthy_consumer_is_caught_up() {
        assert_eq!(consumer().health(NOW), Health::Healthy);
        assert!(consumer().caught_up(NOW));
        assert!(Consumer { lag: None, ..consumer() }.caught_up(NOW));
        assert!(!Consumer { lag: Some(3), ..consumer() }.caught_up(NOW));
    }

    #[test]
    fn silent_consumer_is_not_polling() {
        let c = Consumer { last_poll_ms: Some(NOW - 120_000), ..consumer() };
        assert_eq!(c.health(NOW), Health::NotPolling { last_poll_ms: Some(NOW - 120_000) });
    }

    #[test]
    fn errors_count_until_the_next_commit() {
        let failing =
            Consumer { last_exception: Some((NOW - 2_000, "Local: Broker transport failure".into())), ..consumer() };
        assert!(matches!(failing.health(NOW), Health::Failing { .. }));
        let recovered = Consumer { last_exception: Some((NOW - 9_000, "x".into())), ..consumer() };
        assert_eq!(recovered.health(NOW), Health::Healthy);
        let missing = Consumer {
            assigned_partitions: 0,
            last_commit_ms: None,
            last_exception: Some((NOW - 2_000, "Broker: Unknown topic or partition".into())),
            ..consumer()
        };
        assert_eq!(missing.health(NOW), Health::TopicMissing);
        let created = Consumer { assigned_partitions: 1, ..missing };
        assert_eq!(created.health(NOW), Health::Healthy);
    }
}
