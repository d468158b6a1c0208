//! Which Kafka topics the raw layer lands, and the table id each one lands under.
//!
//! Three sources, first one set wins: `RAW_KAFKA_TOPICS` (full topic names), then
//! `SOURCE_PG_TABLE_ALLOWLIST`, then the core package's default tables (its connector template's,
//! see [`crate::packages::PackageSet::core_tables`]): the last two are what CDC captures, so
//! ClickHouse lands exactly that. The two table lists get the topic prefix `DEBEZIUM_TOPIC_PREFIX`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::packages::connect::TEMPLATE_FILE;
use crate::settings::{Settings, TableName};

/// One topic and the source table it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// The Kafka topic: `<prefix>.<schema>.<table>`.
    pub name: String,
    pub schema: String,
    pub table: String,
}

impl Topic {
    pub fn new(prefix: &str, table: &TableName) -> Topic {
        Topic {
            name: format!("{prefix}.{}.{}", table.schema, table.table),
            schema: table.schema.clone(),
            table: table.table.clone(),
        }
    }

    /// The table id `<schema>_<table>`: raw.events_<id>, raw.kafka_<id>, ...
    pub fn id(&self) -> String {
        format!("{}_{}", self.schema, self.table)
    }
}

/// Where the topic list came from, for the summary (users need to know which knob to turn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicSource {
    RawKafkaTopics,
    Allowlist,
    /// The core package's connector template.
    CorePackage(PathBuf),
}

impl std::fmt::Display for TopicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicSource::RawKafkaTopics => write!(f, "RAW_KAFKA_TOPICS"),
            TopicSource::Allowlist => write!(f, "SOURCE_PG_TABLE_ALLOWLIST"),
            TopicSource::CorePackage(template) => write!(f, "{}", template.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TopicSet {
    pub source: TopicSource,
    pub topics: Vec<Topic>,
}

/// The configured topics, validated: every topic maps to a distinct table id.
pub fn resolve(settings: &Settings) -> Result<TopicSet> {
    let prefix = &settings.cdc.topic_prefix;
    let (source, topics) = if !settings.clickhouse.raw_topics.is_empty() {
        (TopicSource::RawKafkaTopics, from_topic_names(&settings.clickhouse.raw_topics)?)
    } else if !settings.source.table_allowlist.is_empty() {
        let topics = settings.source.table_allowlist.iter().map(|t| Topic::new(prefix, t)).collect();
        (TopicSource::Allowlist, topics)
    } else {
        let packages = crate::packages::resolve(settings)?;
        let topics = packages.core_tables()?.iter().map(|t| Topic::new(prefix, t)).collect();
        (TopicSource::CorePackage(packages.core.root.join(TEMPLATE_FILE)), topics)
    };
    check_distinct(&source, &topics)?;
    Ok(TopicSet { source, topics })
}

/// `RAW_KAFKA_TOPICS`: full topic names; the last two dot-separated parts are schema and table.
pub fn from_topic_names(names: &[String]) -> Result<Vec<Topic>> {
    names
        .iter()
        .map(|name| {
            let parsed = name
                .rsplit_once('.')
                .and_then(|(rest, table)| rest.rsplit_once('.').map(|(prefix, schema)| (prefix, schema, table)))
                .filter(|(prefix, _, _)| !prefix.is_empty())
                .and_then(|(_, schema, table)| TableName::parse(&format!("{schema}.{table}")));
            match parsed {
                Some(t) => Ok(Topic { name: name.clone(), schema: t.schema, table: t.table }),
                None => Err(Error::Config {
                    var: "RAW_KAFKA_TOPICS".into(),
                    value: Some(names.join(",")),
                    expected: format!(
                        "topic names of the form <prefix>.<schema>.<table> with a lowercase schema and table; {name:?} is not one"
                    ),
                    hint: Some("example: openlmis.referencedata.facilities,openlmis.requisition.requisitions".into()),
                }),
            }
        })
        .collect()
}

/// Two topics landing in the same `raw.events_<id>` would mix their events: refuse.
fn check_distinct(source: &TopicSource, topics: &[Topic]) -> Result<()> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for topic in topics {
        if let Some(first) = seen.insert(topic.id(), &topic.name) {
            let message = if first == topic.name {
                format!("topic {} is listed twice", topic.name)
            } else {
                format!("topics {first} and {} would both land in raw.events_{}", topic.name, topic.id())
            };
            return Err(Error::usage(format!("{source}: {message}")).with_hint("list each source table once"));
        }
    }
    if topics.is_empty() {
        return Err(Error::usage(format!("{source}: no topics to land")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_split_into_prefix_schema_and_table() {
        let topics = from_topic_names(&["my.prefix.referencedata.facilities".into()]).unwrap();
        assert_eq!(topics[0].schema, "referencedata");
        assert_eq!(topics[0].table, "facilities");
        assert_eq!(topics[0].id(), "referencedata_facilities");
        assert_eq!(topics[0].name, "my.prefix.referencedata.facilities");
    }

    #[test]
    fn topic_names_without_prefix_or_with_bad_parts_are_rejected() {
        for bad in ["referencedata.facilities", "p.Referencedata.facilities", "p.s.t-1", "p..t"] {
            let err = from_topic_names(&[bad.into()]).unwrap_err();
            assert!(err.to_string().contains("RAW_KAFKA_TOPICS"), "{bad}: {err}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn without_topics_or_allowlist_the_core_packages_tables_land() {
        let project = tempfile::tempdir().unwrap();
        let core = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
        let env = [("ANALYTICS_CORE_PATH", core.display().to_string()), ("DEBEZIUM_TOPIC_PREFIX", "openlmis".into())];
        let env = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let settings = Settings::load(project.path(), &project.path().join(".env"), &[], &env).unwrap();
        let set = resolve(&settings).unwrap();
        assert_eq!(set.source, TopicSource::CorePackage(core.join(TEMPLATE_FILE)));
        let names: Vec<&str> = set.topics.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"openlmis.stockmanagement.stock_card_line_items"), "{names:?}");
        assert!(names.contains(&"openlmis.fulfillment.orders"), "{names:?}");
    }

    #[test]
    fn duplicates_are_refused() {
        let topics = from_topic_names(&["a.s.t".into(), "b.s.t".into()]).unwrap();
        let err = check_distinct(&TopicSource::RawKafkaTopics, &topics).unwrap_err();
        assert!(err.to_string().contains("a.s.t and b.s.t would both land in raw.events_s_t"), "{err}");
    }
}
