//! Comparing an existing object with the one `clickhouse-init` would create, and deciding how
//! `--migrate` brings it in line without losing rows.

use serde::Serialize;

use super::ddl::Kind;
use super::sqltext::{self, Definition};

/// One part that differs, in the server's own formatting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub part: String,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: expected {}, found {}", self.part, self.expected, self.found)
    }
}

/// How `--migrate` resolves a drifted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Fix {
    /// `ALTER TABLE ... <change>` for each change: the rows stay.
    Alter { changes: Vec<String> },
    /// Drop and create again: views and the Kafka table hold no rows (the consumer group and its
    /// offsets are kept).
    Recreate,
    /// Needs a person: ClickHouse can't make this change in place.
    Manual { reason: String },
}

const MISSING: &str = "(none)";

/// Differences between the canonical statements, and the fix; `None` when they match.
pub fn compare(kind: Kind, expected: &str, found: &str) -> Option<(Vec<Difference>, Fix)> {
    if expected == found {
        return None;
    }
    let (want, have) = (sqltext::parse(expected), sqltext::parse(found));
    let mut differences = if kind.is_view() { view_differences(&want, &have) } else { table_differences(&want, &have) };
    if differences.is_empty() {
        // The parts agree but the text does not: show it whole rather than claim a match.
        differences.push(Difference { part: "definition".into(), expected: expected.into(), found: found.into() });
    }
    let fix = if kind.keeps_rows() { alter_fix(&want, &have, &differences) } else { Fix::Recreate };
    Some((differences, fix))
}

fn differ(part: impl Into<String>, expected: Option<&str>, found: Option<&str>) -> Option<Difference> {
    (expected != found).then(|| Difference {
        part: part.into(),
        expected: expected.unwrap_or(MISSING).to_string(),
        found: found.unwrap_or(MISSING).to_string(),
    })
}

fn view_differences(want: &Definition, have: &Definition) -> Vec<Difference> {
    [
        differ("target table", want.target.as_deref(), have.target.as_deref()),
        differ("SELECT", want.select.as_deref(), have.select.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn table_differences(want: &Definition, have: &Definition) -> Vec<Difference> {
    let mut out = Vec::new();
    let column = |def: &Definition, name: &str| def.columns.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone());
    for (name, declaration) in &want.columns {
        out.extend(differ(format!("column {name}"), Some(declaration), column(have, name).as_deref()));
    }
    for (name, declaration) in &have.columns {
        if column(want, name).is_none() {
            out.extend(differ(format!("column {name}"), None, Some(declaration)));
        }
    }
    out.extend(differ("ENGINE", Some(&want.engine), Some(&have.engine)));
    let mut keywords: Vec<&str> = Vec::new();
    for (keyword, _) in want.clauses.iter().chain(&have.clauses) {
        if *keyword != "SETTINGS" && !keywords.contains(keyword) {
            keywords.push(keyword);
        }
    }
    for keyword in keywords {
        out.extend(differ(keyword, want.clause(keyword), have.clause(keyword)));
    }
    let (want_settings, have_settings) = (want.settings(), have.settings());
    let value = |pairs: &[(String, String)], key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    for (key, v) in &want_settings {
        out.extend(differ(format!("setting {key}"), Some(v), value(&have_settings, key).as_deref()));
    }
    for (key, v) in &have_settings {
        if value(&want_settings, key).is_none() {
            out.extend(differ(format!("setting {key}"), None, Some(v)));
        }
    }
    out
}

/// Tables with rows change in place, or not at all.
fn alter_fix(want: &Definition, have: &Definition, differences: &[Difference]) -> Fix {
    const FIXED_IN_PLACE: &[&str] = &["ENGINE", "PARTITION BY", "ORDER BY", "PRIMARY KEY", "SAMPLE BY", "definition"];
    if let Some(d) = differences.iter().find(|d| FIXED_IN_PLACE.contains(&d.part.as_str())) {
        return Fix::Manual {
            reason: format!(
                "ClickHouse can't change {} of a table in place: create a table with the new definition, \
                 copy the rows (INSERT INTO ... SELECT), then swap the two (EXCHANGE TABLES)",
                d.part
            ),
        };
    }
    if let Some(d) = differences.iter().find(|d| d.part.starts_with("column ") && d.expected == MISSING) {
        return Fix::Manual {
            reason: format!("{} is not in olmisctl's definition and olmisctl never drops columns", d.part),
        };
    }
    let mut changes = Vec::new();
    for (i, (name, declaration)) in want.columns.iter().enumerate() {
        match have.columns.iter().find(|(n, _)| n == name) {
            None => {
                let position = match i {
                    0 => "FIRST".to_string(),
                    _ => format!("AFTER `{}`", want.columns[i - 1].0),
                };
                changes.push(format!("ADD COLUMN IF NOT EXISTS {declaration} {position}"));
            }
            Some((_, existing)) if existing != declaration => changes.push(format!("MODIFY COLUMN {declaration}")),
            Some(_) => {}
        }
    }
    match (want.clause("TTL"), have.clause("TTL")) {
        (Some(ttl), found) if found != Some(ttl) => changes.push(format!("MODIFY TTL {ttl}")),
        (None, Some(_)) => changes.push("REMOVE TTL".to_string()),
        _ => {}
    }
    let have_settings = have.settings();
    for (key, value) in want.settings() {
        if !have_settings.iter().any(|(k, v)| *k == key && *v == value) {
            changes.push(format!("MODIFY SETTING {key} = {value}"));
        }
    }
    let want_settings = want.settings();
    for (key, _) in have_settings {
        if !want_settings.iter().any(|(k, _)| *k == key) {
            changes.push(format!("RESET SETTING {key}"));
        }
    }
    Fix::Alter { changes }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: &str = "CREATE TABLE raw.events_s_t (`op` LowCardinality(String), `lsn` UInt64, `after` String) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (kafka_key, lsn) SETTINGS index_granularity = 8192";

    #[test]
    fn equal_statements_do_not_drift() {
        assert_eq!(compare(Kind::EventsTable, EVENTS, EVENTS), None);
    }

    #[test]
    fn new_columns_and_ttl_alter_in_place() {
        let found = EVENTS.replace(", `lsn` UInt64", "");
        let expected = EVENTS.replace(" SETTINGS", " TTL toDateTime(ingested_at) + toIntervalDay(30) SETTINGS");
        let (differences, fix) = compare(Kind::EventsTable, &expected, &found).unwrap();
        let parts: Vec<_> = differences.iter().map(|d| d.part.as_str()).collect();
        assert_eq!(parts, ["column lsn", "TTL"]);
        assert_eq!(differences[0].to_string(), "column lsn: expected `lsn` UInt64, found (none)");
        assert_eq!(
            fix,
            Fix::Alter {
                changes: vec![
                    "ADD COLUMN IF NOT EXISTS `lsn` UInt64 AFTER `op`".into(),
                    "MODIFY TTL toDateTime(ingested_at) + toIntervalDay(30)".into()
                ]
            }
        );
        let (_, fix) = compare(Kind::EventsTable, EVENTS, &expected).unwrap();
        assert_eq!(fix, Fix::Alter { changes: vec!["REMOVE TTL".into()] });
    }

    #[test]
    fn changed_types_and_settings_alter_in_place() {
        let found = EVENTS.replace("`op` LowCardinality(String)", "`op` String").replace("8192", "1024");
        let (_, fix) = compare(Kind::EventsTable, EVENTS, &found).unwrap();
        assert_eq!(
            fix,
            Fix::Alter {
                changes: vec![
                    "MODIFY COLUMN `op` LowCardinality(String)".into(),
                    "MODIFY SETTING index_granularity = 8192".into()
                ]
            }
        );
    }

    #[test]
    fn sorting_key_and_engine_changes_need_a_person() {
        let found = EVENTS.replace("ORDER BY (kafka_key, lsn)", "ORDER BY kafka_key");
        let (differences, fix) = compare(Kind::EventsTable, EVENTS, &found).unwrap();
        assert_eq!(differences[0].part, "ORDER BY");
        assert!(matches!(fix, Fix::Manual { reason } if reason.contains("EXCHANGE TABLES")));
        let found = EVENTS.replace("ENGINE = MergeTree", "ENGINE = ReplacingMergeTree");
        assert!(matches!(compare(Kind::EventsTable, EVENTS, &found).unwrap().1, Fix::Manual { .. }));
        let found = EVENTS.replace("`after` String", "`after` String, `extra` String");
        let (differences, fix) = compare(Kind::EventsTable, EVENTS, &found).unwrap();
        assert_eq!(differences[0].to_string(), "column extra: expected (none), found `extra` String");
        assert!(matches!(fix, Fix::Manual { reason } if reason.contains("never drops columns")));
    }

    #[test]
    fn views_and_kafka_tables_are_recreated() {
        let view = "CREATE MATERIALIZED VIEW raw.v TO raw.t AS SELECT a FROM raw.s";
        let (differences, fix) = compare(Kind::ParsedView, view, &view.replace("SELECT a", "SELECT b AS a")).unwrap();
        assert_eq!(differences[0].part, "SELECT");
        assert_eq!(fix, Fix::Recreate);
        let kafka = "CREATE TABLE raw.k (`message` String) ENGINE = Kafka SETTINGS kafka_flush_interval_ms = 500";
        let (differences, fix) = compare(Kind::KafkaTable, kafka, &kafka.replace("500", "7500")).unwrap();
        assert_eq!(differences[0].to_string(), "setting kafka_flush_interval_ms: expected 500, found 7500");
        assert_eq!(fix, Fix::Recreate);
    }
}
