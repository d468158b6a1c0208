//! Which Kafka topics the raw layer lands, and the table id each one lands under.
//!
//! Three sources, first one set wins: `RAW_KAFKA_TOPICS` (full topic names), then
//! `SOURCE_PG_TABLE_ALLOWLIST` (so ClickHouse lands exactly what CDC captures), then
//! `clickhouse/config/topics.yaml` (the core package's tables). The two table lists get the topic
//! prefix `DEBEZIUM_TOPIC_PREFIX`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::settings::{Settings, TableName};

/// The topics file, relative to the project directory.
pub const TOPICS_FILE: &str = "clickhouse/config/topics.yaml";

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
    File(PathBuf),
}

impl std::fmt::Display for TopicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicSource::RawKafkaTopics => write!(f, "RAW_KAFKA_TOPICS"),
            TopicSource::Allowlist => write!(f, "SOURCE_PG_TABLE_ALLOWLIST"),
            TopicSource::File(path) => write!(f, "{}", path.display()),
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
        let path = settings.project_dir.join(TOPICS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::file(&path, format!("cannot read the topics file: {e}")).with_hint(format!(
                "create {TOPICS_FILE} (see the one shipped with olmisctl), or set SOURCE_PG_TABLE_ALLOWLIST or RAW_KAFKA_TOPICS"
            ))
        })?;
        (TopicSource::File(path.clone()), parse_file(&path, &text, prefix)?)
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsFile {
    tables: Vec<serde_saphyr::Spanned<String>>,
}

/// Parses the topics file: `tables:` lists `schema.table` entries.
pub fn parse_file(path: &Path, text: &str, prefix: &str) -> Result<Vec<Topic>> {
    let file: TopicsFile = serde_saphyr::from_str(text).map_err(|e| {
        Error::file(path, format!("is not a valid topics file: {e}"))
            .with_hint("expected a `tables:` list of schema.table entries, e.g. `- referencedata.facilities`")
    })?;
    if file.tables.is_empty() {
        return Err(Error::file(path, "`tables:` is empty").with_hint("list at least one schema.table"));
    }
    file.tables
        .iter()
        .map(|entry| match TableName::parse(&entry.value) {
            Some(table) => Ok(Topic::new(prefix, &table)),
            None => Err(Error::file(
                path,
                format!(
                    "line {}: {:?} is not a schema.table name (lowercase letters, digits and '_', one dot)",
                    entry.referenced.line(),
                    entry.value
                ),
            )
            .with_hint("write entries like `- referencedata.facilities`")),
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
    fn file_entries_get_the_prefix() {
        let text = "tables:\n  - referencedata.facilities\n  - requisition.requisitions\n";
        let topics = parse_file(Path::new("t.yaml"), text, "openlmis").unwrap();
        let names: Vec<_> = topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["openlmis.referencedata.facilities", "openlmis.requisition.requisitions"]);
    }

    #[test]
    fn file_errors_name_the_line_and_entry() {
        let text = "tables:\n  - referencedata.facilities\n  - Requisitions\n";
        let err = parse_file(Path::new("t.yaml"), text, "openlmis").unwrap_err();
        assert!(err.to_string().contains("t.yaml: line 3: \"Requisitions\""), "{err}");
        let err = parse_file(Path::new("t.yaml"), "topics: [a.b]\n", "openlmis").unwrap_err();
        assert!(err.to_string().contains("not a valid topics file"), "{err}");
        let err = parse_file(Path::new("t.yaml"), "tables: []\n", "openlmis").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn the_shipped_file_parses() {
        let text = include_str!("../../clickhouse/config/topics.yaml");
        let topics = parse_file(Path::new(TOPICS_FILE), text, "openlmis").unwrap();
        check_distinct(&TopicSource::File(TOPICS_FILE.into()), &topics).unwrap();
        assert!(topics.iter().any(|t| t.name == "openlmis.stockmanagement.stock_card_line_items"));
    }

    #[test]
    fn duplicates_are_refused() {
        let topics = from_topic_names(&["a.s.t".into(), "b.s.t".into()]).unwrap();
        let err = check_distinct(&TopicSource::RawKafkaTopics, &topics).unwrap_err();
        assert!(err.to_string().contains("a.s.t and b.s.t would both land in raw.events_s_t"), "{err}");
    }
}
