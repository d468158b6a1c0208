//! `olmisctl verify freshness`: the gate before a dbt build.
//!
//! Per topic: `fresh` (an event landed within FRESHNESS_MAX_AGE_MINUTES), `idle` (nothing recent,
//! but the consumer is healthy and has landed everything Kafka holds: the source table simply
//! has not changed), or `stale` (behind, broken or not set up). Any stale topic fails the gate.
//!
//! With `--since <timestamp>` the gate also says whether anything landed after that time
//! (`"new_data"` in the JSON), and with `--nothing-new-exit-code 99` exits 99 when nothing did, so
//! a scheduler can skip a build that would change nothing (Airflow's BashOperator marks a task
//! skipped on 99 by default).

use serde::Serialize;

use super::display::{age, count, timestamp};
use super::observe::{self, Health, Observation, Snapshot};
use super::topics;
use crate::checks::{Level, label};
use crate::clients::clickhouse::ClickHouse;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};

/// What the gate is asked.
#[derive(Debug, Clone)]
pub struct Gate<'a> {
    pub since: Option<&'a str>,
    pub max_age_minutes: u32,
    /// Exit 99 (instead of 0) when `since` is given and nothing landed after it.
    pub exit_when_nothing_new: bool,
}

pub async fn run(ctx: &Ctx, gate: &Gate<'_>) -> Result<FreshnessReport> {
    let set = topics::resolve(&ctx.settings)?;
    let ch = ClickHouse::new(&ctx.settings)?;
    let progress = ctx.out.progress(format!("Checking freshness of {}", count(set.topics.len() as u64, "topic")));
    // An empty --since (a template that rendered nothing) means "no previous build".
    let since = gate.since.map(str::trim).filter(|s| !s.is_empty());
    let snapshot = observe::observe(&ch, &ctx.settings.clickhouse.raw_database, &set.topics, since).await?;
    progress.finish("done");
    Ok(assess(&snapshot, gate.max_age_minutes, gate.exit_when_nothing_new))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Fresh,
    Idle,
    Stale,
}

#[derive(Debug, Serialize)]
pub struct TopicFreshness {
    pub topic: String,
    pub state: State,
    /// Why, in words.
    pub detail: String,
    pub newest_ingested_at: Option<String>,
    /// Commit time in PostgreSQL of the newest landed change.
    pub newest_source_ts: Option<String>,
    pub age_seconds: Option<i64>,
    pub lag: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_since: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct FreshnessReport {
    pub status: Level,
    pub max_age_minutes: u32,
    pub checked_at: String,
    pub stale: Vec<String>,
    /// The newest landing over all topics: pass it as `--since` after the next successful build.
    pub newest_ingested_at: Option<String>,
    pub since: Option<String>,
    /// With `--since`: whether any event landed after it. `false` means the build can be skipped.
    pub new_data: Option<bool>,
    pub topics: Vec<TopicFreshness>,
    pub exit_code: u8,
}

pub fn assess(snapshot: &Snapshot, max_age_minutes: u32, exit_when_nothing_new: bool) -> FreshnessReport {
    let max_age_ms = i64::from(max_age_minutes) * 60_000;
    let topics: Vec<TopicFreshness> =
        snapshot.topics.iter().map(|o| topic_freshness(o, snapshot.now_ms, max_age_ms)).collect();
    let stale: Vec<String> = topics.iter().filter(|t| t.state == State::Stale).map(|t| t.topic.clone()).collect();
    let new_data = snapshot.since_ms.map(|_| snapshot.topics.iter().any(|o| o.events_since.unwrap_or(0) > 0));
    let exit = match (stale.is_empty(), new_data) {
        (false, _) => Exit::Failed,
        (true, Some(false)) if exit_when_nothing_new => Exit::Unchanged,
        (true, _) => Exit::Ok,
    };
    FreshnessReport {
        status: if stale.is_empty() { Level::Pass } else { Level::Fail },
        max_age_minutes,
        checked_at: timestamp(snapshot.now_ms),
        newest_ingested_at: snapshot.topics.iter().filter_map(|o| o.newest_ingested_ms).max().map(timestamp),
        since: snapshot.since_ms.map(timestamp),
        new_data,
        stale,
        topics,
        exit_code: exit as u8,
    }
}

fn topic_freshness(obs: &Observation, now_ms: i64, max_age_ms: i64) -> TopicFreshness {
    let age_ms = obs.newest_ingested_ms.map(|t| now_ms - t);
    let lag = obs.consumer.as_ref().and_then(|c| c.lag);
    let health = obs.consumer.as_ref().map(|c| c.health(now_ms));
    let caught_up = obs.consumer.as_ref().is_some_and(|c| c.caught_up(now_ms));
    let newest = |a: i64| format!("newest event {} ago", age(a));
    let (state, detail) = if !obs.missing.is_empty() {
        (State::Stale, format!("not set up: {} missing (run `olmisctl clickhouse-init`)", obs.missing.join(", ")))
    } else if let Some(a) = age_ms.filter(|a| *a <= max_age_ms) {
        (State::Fresh, newest(a))
    } else if caught_up {
        let quiet = age_ms.map_or("no events yet".to_string(), newest);
        (State::Idle, format!("{quiet}; the consumer has landed everything in Kafka"))
    } else if health == Some(Health::TopicMissing) && obs.events == 0 {
        (State::Idle, "no events yet: the topic does not exist (the source table has had no rows)".to_string())
    } else {
        let why = match (&health, lag) {
            (None, _) => "no Kafka consumer".to_string(),
            (Some(Health::Healthy), Some(l)) => format!("{} not landed", count(l.unsigned_abs(), "message")),
            (Some(h), _) => format!("consumer {}", health_words(h)),
        };
        (State::Stale, format!("{}; {why}", age_ms.map_or("no events".to_string(), newest)))
    };
    TopicFreshness {
        topic: obs.topic.name.clone(),
        state,
        detail,
        newest_ingested_at: obs.newest_ingested_ms.map(timestamp),
        newest_source_ts: obs.newest_source_ms.map(timestamp),
        age_seconds: age_ms.map(|a| a / 1000),
        lag,
        events_since: obs.events_since,
    }
}

fn health_words(health: &Health) -> String {
    match health {
        Health::NotPolling { .. } => "not polling".to_string(),
        Health::TopicMissing => "waiting for its topic".to_string(),
        Health::Failing { message, .. } => format!("failing: {message}"),
        Health::NoPartitions => "has no partition assigned".to_string(),
        Health::Healthy => "healthy".to_string(),
    }
}

impl Report for FreshnessReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out =
            format!("{} (max age {} min)\n", styles.bold.apply_to("Freshness of the raw layer"), self.max_age_minutes);
        let width = self.topics.iter().map(|t| t.topic.len()).max().unwrap_or(0);
        for t in &self.topics {
            let level = if t.state == State::Stale { Level::Fail } else { Level::Pass };
            let state = match t.state {
                State::Fresh => "fresh",
                State::Idle => "idle ",
                State::Stale => "stale",
            };
            out.push_str(&format!("  {} {state}  {:width$}  {}\n", label(level, styles), t.topic, t.detail));
        }
        if !self.stale.is_empty() {
            out.push_str(&format!("{} {}\n", styles.fail.apply_to("Stale:"), self.stale.join(", ")));
        }
        if let (Some(since), Some(new)) = (&self.since, self.new_data) {
            let landed: u64 = self.topics.iter().filter_map(|t| t.events_since).sum();
            if new {
                out.push_str(&format!("{} landed since {since}\n", count(landed, "event")));
            } else if self.exit_code == Exit::Unchanged as u8 {
                out.push_str(&format!("Nothing landed since {since}: the build can be skipped (exit 99)\n"));
            } else {
                out.push_str(&format!("Nothing landed since {since}\n"));
            }
        }
        out
    }

    fn exit(&self) -> Exit {
        match self.exit_code {
            0 => Exit::Ok,
            99 => Exit::Unchanged,
            _ => Exit::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::observe::Consumer;
    use crate::clickhouse::topics::Topic;
    use crate::settings::TableName;

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn consumer(lag: Option<i64>) -> Consumer {
        Consumer {
            assigned_partitions: 1,
            last_poll_ms: Some(NOW - 1_000),
            last_commit_ms: Some(NOW - 3 * HOUR),
            messages_read: 10,
            last_exception: None,
            lag,
        }
    }

    fn obs(table: &str, newest_ago: Option<i64>, consumer: Option<Consumer>) -> Observation {
        Observation {
            topic: Topic::new("openlmis", &TableName::parse(table).unwrap()),
            missing: vec![],
            events: if newest_ago.is_some() { 10 } else { 0 },
            newest_ingested_ms: newest_ago.map(|a| NOW - a),
            newest_source_ms: newest_ago.map(|a| NOW - a - 500),
            newest_op: Some("c".into()),
            events_since: None,
            errors: 0,
            newest_error: None,
            consumer,
        }
    }

    fn snapshot(topics: Vec<Observation>, since_ms: Option<i64>) -> Snapshot {
        Snapshot { raw: "raw".into(), now_ms: NOW, since_ms, errors_table_exists: true, topics }
    }

    #[test]
    fn recent_is_fresh_quiet_and_caught_up_is_idle_behind_is_stale() {
        let report = assess(
            &snapshot(
                vec![
                    obs("s.fresh", Some(60_000), Some(consumer(Some(0)))),
                    obs("s.quiet", Some(5 * HOUR), Some(consumer(None))),
                    obs("s.behind", Some(5 * HOUR), Some(consumer(Some(12)))),
                    obs("s.dead", Some(5 * HOUR), None),
                ],
                None,
            ),
            120,
            false,
        );
        let states: Vec<_> = report.topics.iter().map(|t| t.state).collect();
        assert_eq!(states, [State::Fresh, State::Idle, State::Stale, State::Stale]);
        assert_eq!(report.stale, ["openlmis.s.behind", "openlmis.s.dead"]);
        assert_eq!(report.exit(), Exit::Failed);
        assert_eq!(report.topics[2].detail, "newest event 5h ago; 12 messages not landed");
        insta::assert_snapshot!(report.human(&Styles::plain()));
    }

    #[test]
    fn since_tells_whether_to_build() {
        let mut changed = obs("s.t", Some(60_000), Some(consumer(Some(0))));
        changed.events_since = Some(3);
        let report = assess(&snapshot(vec![changed.clone()], Some(NOW - HOUR)), 120, true);
        assert_eq!((report.new_data, report.exit()), (Some(true), Exit::Ok));
        changed.events_since = Some(0);
        let report = assess(&snapshot(vec![changed.clone()], Some(NOW - HOUR)), 120, true);
        assert_eq!((report.new_data, report.exit(), report.exit_code), (Some(false), Exit::Unchanged, 99));
        assert!(report.human(&Styles::plain()).contains("the build can be skipped (exit 99)"));
        // Without --nothing-new-exit-code the answer is only reported.
        let report = assess(&snapshot(vec![changed], Some(NOW - HOUR)), 120, false);
        assert_eq!((report.new_data, report.exit()), (Some(false), Exit::Ok));
    }

    #[test]
    fn stale_beats_nothing_new() {
        let mut stale = obs("s.t", Some(5 * HOUR), None);
        stale.events_since = Some(0);
        let report = assess(&snapshot(vec![stale], Some(NOW - HOUR)), 120, true);
        assert_eq!(report.exit(), Exit::Failed);
    }

    #[test]
    fn missing_objects_are_stale_and_missing_topics_idle() {
        let mut unset = obs("s.t", None, None);
        unset.missing = vec!["raw.kafka_s_t".into()];
        let waiting = Consumer {
            assigned_partitions: 0,
            last_commit_ms: None,
            last_exception: Some((NOW - 1_000, "Broker: Unknown topic or partition".into())),
            ..consumer(None)
        };
        let report = assess(&snapshot(vec![unset, obs("s.u", None, Some(waiting))], None), 120, false);
        assert_eq!(report.topics[0].state, State::Stale);
        assert!(report.topics[0].detail.starts_with("not set up: raw.kafka_s_t missing"));
        assert_eq!(report.topics[1].state, State::Idle);
    }
}
