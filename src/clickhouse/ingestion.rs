//! `olmisctl verify ingestion`: one pass / warn / fail line per topic.

use super::display::{age, count};
use super::observe::{self, Health, Observation, Snapshot};
use super::topics;
use crate::checks::{Check, CheckReport, Level};
use crate::clients::clickhouse::ClickHouse;
use crate::context::Ctx;
use crate::error::Result;

/// Behind, with no commit for this long: the consumer is stuck, not catching up.
const STUCK_MS: i64 = 120_000;
/// Snapshot reads landed this recently: the snapshot may still be running.
const SNAPSHOT_RECENT_MS: i64 = 120_000;

pub async fn run(ctx: &Ctx) -> Result<CheckReport> {
    let set = topics::resolve(&ctx.settings)?;
    let ch = ClickHouse::new(&ctx.settings)?;
    let progress = ctx.out.progress(format!("Checking {} in ClickHouse", count(set.topics.len() as u64, "topic")));
    let snapshot = observe::observe(&ch, &ctx.settings.clickhouse.raw_database, &set.topics, None).await?;
    progress.finish("done");
    Ok(assess(&snapshot, ctx.settings.dbt.freshness_max_age_minutes))
}

pub fn assess(snapshot: &Snapshot, max_age_minutes: u32) -> CheckReport {
    let mut checks = Vec::with_capacity(snapshot.topics.len() + 1);
    let errors_table = format!("{}.errors", snapshot.raw);
    checks.push(if snapshot.errors_table_exists {
        Check::pass(&errors_table, "present")
    } else {
        Check::fail(&errors_table, "missing: bad messages have nowhere to go")
            .with_hint("run `olmisctl clickhouse-init`")
    });
    for obs in &snapshot.topics {
        checks.push(topic_check(obs, &snapshot.raw, snapshot.now_ms, i64::from(max_age_minutes) * 60_000));
    }
    CheckReport::new("Ingestion (Kafka -> ClickHouse raw layer)", checks)
}

/// Findings about one topic; the worst decides its line.
struct Findings {
    facts: Vec<String>,
    problems: Vec<(Level, String, Option<String>)>,
}

impl Findings {
    fn add(&mut self, level: Level, message: impl Into<String>, hint: Option<String>) {
        self.problems.push((level, message.into(), hint));
    }

    fn into_check(self, name: &str) -> Check {
        let level = self.problems.iter().map(|p| p.0).max().unwrap_or(Level::Pass);
        let mut parts = self.facts;
        parts.extend(self.problems.iter().map(|p| p.1.clone()));
        let hint = self.problems.into_iter().filter(|p| p.0 == level).find_map(|p| p.2);
        let check = Check { name: name.to_string(), level, message: parts.join("; "), hint: None };
        match hint {
            Some(h) => check.with_hint(h),
            None => check,
        }
    }
}

fn topic_check(obs: &Observation, raw: &str, now_ms: i64, max_age_ms: i64) -> Check {
    let names = super::ddl::TopicNames::of(raw, &obs.topic);
    if !obs.missing.is_empty() {
        return Check::fail(&obs.topic.name, format!("missing {}", obs.missing.join(", ")))
            .with_hint("run `olmisctl clickhouse-init`");
    }
    let newest_age = obs.newest_ingested_ms.map(|t| now_ms - t);
    let lag = obs.consumer.as_ref().and_then(|c| c.lag);
    let mut f = Findings { facts: Vec::new(), problems: Vec::new() };
    if let Some(a) = newest_age {
        f.facts.push(format!("{}, newest {} ago", count(obs.events, "event"), age(a)));
    }
    // Lag needs librdkafka statistics enabled in the server config; without them, say nothing.
    if let Some(l) = lag {
        f.facts.push(format!("lag {l}"));
    }
    let snapshot_running = obs.newest_op.as_deref() == Some("r")
        && (lag.is_some_and(|l| l > 0) || newest_age.is_some_and(|a| a < SNAPSHOT_RECENT_MS));
    match obs.consumer.as_ref().map(|c| (c, c.health(now_ms))) {
        None => f.add(
            Level::Fail,
            format!("no Kafka consumer for {}", names.kafka),
            Some(format!(
                "ClickHouse consumes while {} exists; look for {} in the ClickHouse server log",
                names.parsed_view, names.kafka
            )),
        ),
        Some((_, Health::NotPolling { last_poll_ms })) => f.add(
            Level::Fail,
            match last_poll_ms {
                Some(t) => format!("consumer has not polled for {}", age(now_ms - t)),
                None => "consumer has never polled".to_string(),
            },
            Some(
                "check the ClickHouse server log for the Kafka table; restarting ClickHouse restarts consumers".into(),
            ),
        ),
        Some((_, Health::TopicMissing)) => f.add(
            Level::Warn,
            format!("topic {} does not exist yet", obs.topic.name),
            Some("Debezium creates it with the table's first captured row; check `olmisctl verify cdc`".into()),
        ),
        Some((_, Health::Failing { at_ms, message })) => f.add(
            Level::Warn,
            format!("consumer error {} ago: {message}", age(now_ms - at_ms)),
            Some("check that ClickHouse reaches the brokers in CLICKHOUSE_KAFKA_BROKERS".into()),
        ),
        Some((_, Health::NoPartitions)) => f.add(
            Level::Warn,
            "no partition assigned yet",
            Some("the consumer group may be rebalancing; check again in a minute".into()),
        ),
        Some((_, Health::Healthy)) => {}
    }
    // Polling but not landing (a failing view, say): messages wait while nothing is committed.
    if let Some(consumer) = obs.consumer.as_ref().filter(|c| c.last_poll_ms.is_some_and(|t| now_ms - t <= STUCK_MS))
        && let Some(l) = lag.filter(|l| *l > 0)
        && !snapshot_running
        && consumer.last_commit_ms.is_none_or(|c| now_ms - c > STUCK_MS)
    {
        f.add(
            Level::Fail,
            format!(
                "{} waiting and nothing committed for {}",
                count(l.unsigned_abs(), "message"),
                since(consumer.last_commit_ms, now_ms)
            ),
            Some(format!("the views may be failing: look for {} in the ClickHouse server log", names.kafka)),
        );
    }
    let topic_missing = obs.consumer.as_ref().is_some_and(|c| c.health(now_ms) == Health::TopicMissing);
    if snapshot_running {
        f.add(Level::Warn, "snapshot in progress", None);
    } else if obs.events == 0 && !topic_missing {
        f.add(
            Level::Warn,
            "no events yet",
            Some("an empty source table has no events; otherwise see `olmisctl verify cdc`".into()),
        );
    } else if newest_age.is_some_and(|a| a > max_age_ms) && lag != Some(0) {
        f.add(
            Level::Warn,
            format!("newest event older than FRESHNESS_MAX_AGE_MINUTES ({})", max_age_ms / 60_000),
            Some("`olmisctl verify freshness` tells a quiet table from a stalled one".into()),
        );
    }
    if obs.errors > 0 {
        f.add(
            Level::Warn,
            format!(
                "{} in {raw}.errors (newest: {})",
                count(obs.errors, "message"),
                obs.newest_error.as_deref().unwrap_or("?")
            ),
            Some(format!(
                "inspect them: SELECT kafka_offset, error, raw_message FROM {raw}.errors WHERE kafka_topic = '{}' ORDER BY kafka_offset",
                obs.topic.name
            )),
        );
    }
    f.into_check(&obs.topic.name)
}

fn since(time_ms: Option<i64>, now_ms: i64) -> String {
    time_ms.map_or("ever".to_string(), |t| age(now_ms - t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::observe::Consumer;
    use crate::clickhouse::topics::Topic;
    use crate::output::{Report, Styles};
    use crate::settings::TableName;

    const NOW: i64 = 1_800_000_000_000;

    fn healthy() -> Consumer {
        Consumer {
            assigned_partitions: 1,
            last_poll_ms: Some(NOW - 1_000),
            last_commit_ms: Some(NOW - 10_000),
            messages_read: 1000,
            last_exception: None,
            lag: Some(0),
        }
    }

    fn obs(table: &str) -> Observation {
        Observation {
            topic: Topic::new("openlmis", &TableName::parse(table).unwrap()),
            missing: vec![],
            events: 1000,
            newest_ingested_ms: Some(NOW - 60_000),
            newest_source_ms: Some(NOW - 61_000),
            newest_op: Some("u".into()),
            events_since: None,
            errors: 0,
            newest_error: None,
            consumer: Some(healthy()),
        }
    }

    fn check(o: Observation) -> Check {
        topic_check(&o, "raw", NOW, 120 * 60_000)
    }

    #[test]
    fn a_healthy_topic_passes_with_its_numbers() {
        let c = check(obs("s.t"));
        assert_eq!(c.level, Level::Pass);
        assert_eq!(c.message, "1000 events, newest 60s ago; lag 0");
    }

    #[test]
    fn missing_objects_and_consumers_fail() {
        let c = check(Observation { missing: vec!["raw.kafka_s_t".into()], ..obs("s.t") });
        assert_eq!((c.level, c.message.as_str()), (Level::Fail, "missing raw.kafka_s_t"));
        let c = check(Observation { consumer: None, ..obs("s.t") });
        assert_eq!(c.level, Level::Fail);
        assert!(c.message.contains("no Kafka consumer for raw.kafka_s_t"), "{}", c.message);
    }

    #[test]
    fn a_stuck_consumer_fails_but_a_snapshot_only_warns() {
        let behind = Consumer { lag: Some(50), last_commit_ms: Some(NOW - 600_000), ..healthy() };
        let c = check(Observation { consumer: Some(behind.clone()), ..obs("s.t") });
        assert_eq!(c.level, Level::Fail, "{}", c.message);
        assert!(c.message.contains("50 messages waiting and nothing committed for 10m"), "{}", c.message);
        let c = check(Observation { consumer: Some(behind.clone()), newest_op: Some("r".into()), ..obs("s.t") });
        assert_eq!(c.level, Level::Warn);
        assert!(c.message.ends_with("snapshot in progress"), "{}", c.message);
        let failing =
            Consumer { last_exception: Some((NOW - 1_000, "Table raw.events_s_t does not exist".into())), ..behind };
        let c = check(Observation { consumer: Some(failing), ..obs("s.t") });
        assert_eq!(c.level, Level::Fail, "{}", c.message);
        assert!(c.message.contains("consumer error 1s ago: Table raw.events_s_t does not exist"), "{}", c.message);
    }

    #[test]
    fn errors_empty_tables_and_missing_topics_warn() {
        let c = check(Observation { errors: 2, newest_error: Some("not valid JSON".into()), ..obs("s.t") });
        assert_eq!(c.level, Level::Warn);
        assert!(c.message.contains("2 messages in raw.errors (newest: not valid JSON)"), "{}", c.message);
        assert!(c.hint.unwrap().contains("kafka_topic = 'openlmis.s.t'"));
        let empty = Observation { events: 0, newest_ingested_ms: None, newest_op: None, ..obs("s.t") };
        assert_eq!(check(empty.clone()).level, Level::Warn);
        let no_topic = Consumer {
            assigned_partitions: 0,
            last_commit_ms: None,
            last_exception: Some((NOW - 5_000, "Broker: Unknown topic or partition".into())),
            lag: None,
            ..healthy()
        };
        let c = check(Observation { consumer: Some(no_topic), ..empty });
        assert_eq!(c.level, Level::Warn);
        assert!(c.message.contains("topic openlmis.s.t does not exist yet"), "{}", c.message);
    }

    #[test]
    fn report_reads_well() {
        let snapshot = Snapshot {
            raw: "raw".into(),
            now_ms: NOW,
            since_ms: None,
            errors_table_exists: true,
            topics: vec![
                obs("referencedata.facilities"),
                Observation {
                    errors: 1,
                    newest_error: Some("delete without a before image".into()),
                    ..obs("requisition.requisitions")
                },
            ],
        };
        let report = assess(&snapshot, 120);
        assert_eq!(report.status, Level::Warn);
        insta::assert_snapshot!(report.human(&Styles::plain()));
    }
}
