//! The raw layer's objects and their DDL, rendered from the templates: a pure function of the
//! topics and the layout (single server or cluster, TTL, brokers).

use serde::Serialize;

use super::template::{self, Template, literal};
use super::topics::Topic;
use crate::error::Result;
use crate::settings::ClickHouseSettings;

/// What shapes the DDL besides the topics.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `CLICKHOUSE_RAW_DATABASE`: where the landing lives (a validated identifier).
    pub raw: String,
    /// `CLICKHOUSE_CURATED_DATABASE`: created here so that dbt and Superset find it.
    pub curated: String,
    /// `CLICKHOUSE_CLUSTER`: ON CLUSTER and Replicated engines when set.
    pub cluster: Option<String>,
    /// `RAW_TTL_DAYS`; 0 keeps rows forever.
    pub ttl_days: u32,
    /// `CLICKHOUSE_KAFKA_BROKERS` as ClickHouse reaches them.
    pub brokers: Vec<String>,
}

impl Layout {
    pub fn from_settings(settings: &ClickHouseSettings) -> Layout {
        Layout {
            raw: settings.raw_database.clone(),
            curated: settings.curated_database.clone(),
            cluster: settings.cluster.clone(),
            ttl_days: settings.raw_ttl_days,
            brokers: settings.kafka_brokers.clone(),
        }
    }

    /// A single server with the default databases and no brokers, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Layout {
        Layout { raw: "raw".into(), curated: "curated".into(), cluster: None, ttl_days: 0, brokers: Vec::new() }
    }

    /// The table every topic's unparseable messages go to.
    pub fn errors_table(&self) -> String {
        format!("{}.errors", self.raw)
    }

    pub fn on_cluster(&self) -> String {
        // The cluster name is validated as letters, digits, '_', '-' and '.', so backquotes suffice.
        self.cluster.as_ref().map(|c| format!(" ON CLUSTER `{c}`")).unwrap_or_default()
    }

    /// One shard, N replicas: every replica consumes in the same group (each message lands once)
    /// and replication copies the rows. The path is literal so it survives a recreated table.
    pub fn merge_tree(&self, table: &str) -> String {
        match self.cluster {
            None => "MergeTree".to_string(),
            Some(_) => {
                format!("ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{}/{table}', '{{replica}}')", self.raw)
            }
        }
    }

    fn ttl(&self) -> String {
        match self.ttl_days {
            0 => String::new(),
            days => format!("TTL toDateTime(ingested_at) + INTERVAL {days} DAY"),
        }
    }
}

/// The kinds of objects, in the order a topic's pipeline is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Database,
    ErrorsTable,
    EventsTable,
    ParsedTable,
    EventsView,
    ErrorsView,
    KafkaTable,
    /// The view that makes the Kafka engine consume: built last, dropped first.
    ParsedView,
}

impl Kind {
    /// Tables that hold rows: changed with ALTER, never dropped.
    pub fn keeps_rows(self) -> bool {
        matches!(self, Kind::EventsTable | Kind::ErrorsTable)
    }

    pub fn is_view(self) -> bool {
        matches!(self, Kind::EventsView | Kind::ErrorsView | Kind::ParsedView)
    }
}

/// One database, table or view, with the statement that creates it (idempotent: IF NOT EXISTS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Object {
    /// `raw.events_x`, or the bare database name.
    pub name: String,
    pub kind: Kind,
    pub sql: String,
}

/// The names of one topic's objects.
#[derive(Debug, Clone)]
pub struct TopicNames {
    pub events: String,
    pub kafka: String,
    pub parsed: String,
    pub parsed_view: String,
    pub events_view: String,
    pub errors_view: String,
}

impl TopicNames {
    pub fn of(raw: &str, topic: &Topic) -> TopicNames {
        let t = topic.id();
        TopicNames {
            events: format!("{raw}.events_{t}"),
            kafka: format!("{raw}.kafka_{t}"),
            parsed: format!("{raw}.parsed_{t}"),
            parsed_view: format!("{raw}.parsed_{t}_mv"),
            events_view: format!("{raw}.events_{t}_mv"),
            errors_view: format!("{raw}.errors_{t}_mv"),
        }
    }

    pub fn all(&self) -> [&str; 6] {
        [&self.events, &self.parsed, &self.events_view, &self.errors_view, &self.kafka, &self.parsed_view]
    }
}

/// The consumer group of a new Kafka table, named after the raw database too: two platforms landing
/// the same topics in one ClickHouse server must not split the messages between them. Existing
/// tables keep the group they have.
pub fn default_group(raw: &str, topic: &Topic) -> String {
    format!("clickhouse.{raw}.{}", topic.name)
}

/// The raw and curated databases, and the shared `<raw>.errors`.
pub fn platform_objects(layout: &Layout) -> Result<Vec<Object>> {
    let on_cluster = layout.on_cluster();
    let database = |name: &str| -> Result<Object> {
        let sql = template::DATABASE.render(&[("database", name), ("on_cluster", &on_cluster)])?;
        Ok(Object { name: name.to_string(), kind: Kind::Database, sql })
    };
    let errors = template::ERRORS_TABLE.render(&[
        ("on_cluster", &on_cluster),
        ("raw", &layout.raw),
        ("merge_tree", &layout.merge_tree("errors")),
        ("ttl", &layout.ttl()),
    ])?;
    Ok(vec![
        database(&layout.raw)?,
        database(&layout.curated)?,
        Object { name: layout.errors_table(), kind: Kind::ErrorsTable, sql: errors },
    ])
}

/// A topic's six objects, in creation order (the consuming view last).
pub fn topic_objects(topic: &Topic, layout: &Layout, group: &str) -> Result<Vec<Object>> {
    let t = topic.id();
    let names = TopicNames::of(&layout.raw, topic);
    let on_cluster = layout.on_cluster();
    let render = |template: Template, extra: &[(&str, &str)]| -> Result<String> {
        let mut values = vec![("raw", layout.raw.as_str()), ("t", t.as_str()), ("on_cluster", on_cluster.as_str())];
        values.extend_from_slice(extra);
        template.render(&values)
    };
    let brokers = literal(&layout.brokers.join(","));
    let events = render(
        template::EVENTS_TABLE,
        &[("merge_tree", &layout.merge_tree(&format!("events_{t}"))), ("ttl", &layout.ttl())],
    )?;
    let kafka = render(
        template::KAFKA_TABLE,
        &[("brokers", &brokers), ("topic", &literal(&topic.name)), ("group", &literal(group))],
    )?;
    Ok(vec![
        Object { name: names.events, kind: Kind::EventsTable, sql: events },
        Object { name: names.parsed, kind: Kind::ParsedTable, sql: render(template::PARSED_TABLE, &[])? },
        Object { name: names.events_view, kind: Kind::EventsView, sql: render(template::EVENTS_VIEW, &[])? },
        Object { name: names.errors_view, kind: Kind::ErrorsView, sql: render(template::ERRORS_VIEW, &[])? },
        Object { name: names.kafka, kind: Kind::KafkaTable, sql: kafka },
        Object { name: names.parsed_view, kind: Kind::ParsedView, sql: render(template::PARSED_VIEW, &[])? },
    ])
}

/// Everything, in order, for a fresh server (`--print-sql`).
pub fn full_ddl(topics: &[Topic], layout: &Layout) -> Result<Vec<Object>> {
    let mut objects = platform_objects(layout)?;
    for topic in topics {
        objects.extend(topic_objects(topic, layout, &default_group(&layout.raw, topic))?);
    }
    Ok(objects)
}

pub fn drop_sql(name: &str, layout: &Layout) -> Result<String> {
    template::DROP.render(&[("name", name), ("on_cluster", &layout.on_cluster())])
}

pub fn alter_sql(name: &str, layout: &Layout, change: &str) -> Result<String> {
    template::ALTER.render(&[("name", name), ("on_cluster", &layout.on_cluster()), ("change", change)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::TableName;

    fn topic() -> Topic {
        Topic::new("openlmis", &TableName::parse("referencedata.facilities").unwrap())
    }

    fn single() -> Layout {
        Layout { brokers: vec!["kafka:9092".into()], ..Layout::for_tests() }
    }

    fn cluster() -> Layout {
        Layout {
            cluster: Some("analytics".into()),
            ttl_days: 30,
            brokers: vec!["k1:9092".into(), "k2:9092".into()],
            ..Layout::for_tests()
        }
    }

    fn script(objects: &[Object]) -> String {
        objects.iter().map(|o| format!("{};\n", o.sql)).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn single_node_ddl() {
        insta::assert_snapshot!(script(&full_ddl(&[topic()], &single()).unwrap()));
    }

    #[test]
    fn cluster_ddl() {
        insta::assert_snapshot!(script(&full_ddl(&[topic()], &cluster()).unwrap()));
    }

    #[test]
    fn consuming_view_comes_last() {
        let objects = topic_objects(&topic(), &single(), "g").unwrap();
        assert_eq!(objects.last().unwrap().kind, Kind::ParsedView);
        assert_eq!(objects.last().unwrap().name, "raw.parsed_referencedata_facilities_mv");
        let kafka = objects.iter().find(|o| o.kind == Kind::KafkaTable).unwrap();
        assert!(kafka.sql.contains("kafka_group_name = 'g'"), "{}", kafka.sql);
    }

    #[test]
    fn another_raw_database_holds_every_object_and_has_its_own_consumer_group() {
        let layout = Layout { raw: "raw_b".into(), curated: "curated_b".into(), ..single() };
        let objects = full_ddl(&[topic()], &layout).unwrap();
        assert_eq!(objects[0].name, "raw_b");
        assert_eq!(objects[1].name, "curated_b");
        for o in &objects[2..] {
            assert!(o.name.starts_with("raw_b."), "{}", o.name);
            let without_comments: String =
                o.sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            assert!(!without_comments.contains(" raw."), "{}: {}", o.name, o.sql);
        }
        assert_eq!(default_group("raw_b", &topic()), "clickhouse.raw_b.openlmis.referencedata.facilities");
        assert_eq!(default_group("raw", &topic()), "clickhouse.raw.openlmis.referencedata.facilities");
    }

    #[test]
    fn every_template_renders_completely() {
        let mut objects = full_ddl(&[topic()], &cluster()).unwrap();
        objects.extend(full_ddl(&[topic()], &single()).unwrap());
        for o in &objects {
            assert!(!o.sql.contains("{{"), "{}: {}", o.name, o.sql);
        }
        assert!(
            drop_sql("raw.x", &cluster()).unwrap().ends_with("DROP TABLE IF EXISTS raw.x ON CLUSTER `analytics` SYNC")
        );
        assert!(alter_sql("raw.x", &single(), "REMOVE TTL").unwrap().ends_with("ALTER TABLE raw.x REMOVE TTL"));
    }
}
