//! ClickHouse SQL over `raw.events_<schema>_<table>` (the BRIEF's raw-layer contract) in the raw
//! database dbt reads (`CLICKHOUSE_RAW_DATABASE`, `raw` unless a test isolates itself): inserting
//! bootstrap rows, finding the rows of one chunk again, deletes the snapshot implies, and the current
//! state of a table (latest event per primary key by `(lsn, kafka_offset)`, dropped if a delete,
//! keys read from `if(op = 'd', before, after)`). Pure text builders, unit-tested here; the I/O lives
//! with the callers.
//!
//! Bootstrap events: `op = 'r'`, `origin = 'bootstrap'`, `lsn` = the export's event LSN, `kafka_topic`
//! empty, `kafka_partition` and `kafka_ts` zero, `kafka_offset` = the row's number in the export
//! (unique per table; it never decides an order against CDC events, whose `lsn` always differs,
//! and it lets a chunk's rows be found again after an interrupted insert), `source_ts_ms` = the
//! snapshot time.

use super::catalog::TableInfo;
use super::debezium::Encoding;
use super::manifest::Snapshot;
use crate::clickhouse::ddl::Layout;
use crate::clickhouse::template;
use crate::error::Result;
use crate::settings::{Settings, TableName};

/// The raw database the bootstrap writes into and reconcile reads: where dbt reads the events, so
/// bootstrap rows and CDC events meet in the same tables.
#[derive(Debug, Clone)]
pub struct RawLayer {
    pub database: String,
}

impl RawLayer {
    pub fn from_settings(settings: &Settings) -> RawLayer {
        RawLayer { database: settings.clickhouse.raw_database.clone() }
    }

    /// `<raw>.events_<schema>_<table>`, quoted for SQL.
    pub fn events(&self, table: &TableName) -> String {
        format!("`{}`.`events_{}_{}`", self.database, table.schema, table.table)
    }

    /// `<raw>.events_<schema>_<table>` for people.
    pub fn events_name(&self, table: &TableName) -> String {
        format!("{}.events_{}_{}", self.database, table.schema, table.table)
    }

    /// The INSERT a chunk file is streamed into: its lines are `offset \t key \t after`.
    ///
    /// Parsed on one thread into blocks of up to 512 MiB: a default chunk then becomes one part
    /// instead of three (parallel parsing cuts blocks at 256 MiB), which leaves ClickHouse fewer
    /// merges to run while the import goes on; with both cores busy anyway, parallel parsing only
    /// added work. Measured on 10M rows: 19 instead of 22 s of ClickHouse CPU, 512 MiB bounds its
    /// memory per insert to about 850 MB.
    pub fn insert_chunk(&self, table: &TableName, snapshot: &Snapshot, filter: Option<&DateFilter>) -> String {
        let condition = filter.map(|f| format!(" WHERE {}", f.condition("a"))).unwrap_or_default();
        format!(
            "INSERT INTO {} ({INSERT_COLUMNS}) \
             SETTINGS input_format_parallel_parsing = 0, input_format_max_block_size_bytes = 536870912 \
             SELECT '', 0, o, k, toDateTime64(0, 3), 'r', {}, {}, 'bootstrap', '', a \
             FROM input('o Int64, k String, a String'){condition} FORMAT TabSeparated",
            self.events(table),
            snapshot.time_ms,
            snapshot.event_lsn
        )
    }

    /// Per key: the latest event's op, position, Kafka key and row image.
    fn latest_per_key(&self, info: &TableInfo, table: &TableName) -> String {
        let order = "(lsn, kafka_offset)";
        format!(
            "SELECT k, argMax(op, {order}) AS last_op, argMax(lsn, {order}) AS last_lsn, argMax(kafka_key, {order}) AS last_key, \
             argMax(if(op = 'd', before, after), {order}) AS last_row \
             FROM (SELECT {} AS k, op, lsn, kafka_offset, kafka_key, before, after FROM {}) GROUP BY k",
            key_expr(info, "if(op = 'd', before, after)"),
            self.events(table)
        )
    }

    /// Row count and key checksum of the table's current state.
    pub fn current_state_checksum(&self, info: &TableInfo, table: &TableName) -> String {
        format!(
            "SELECT count(), toString(sum({})) FROM ({}) WHERE last_op != 'd'",
            key_hash("k"),
            self.latest_per_key(info, table)
        )
    }

    /// After a full import: every key whose latest event predates the snapshot and is not a delete
    /// was not in the snapshot (a row in it would have an event at the snapshot's position), so it
    /// was deleted while CDC wasn't watching. Writes the delete event Debezium would have sent, with
    /// the row's last image as `before`. Re-running finds nothing more to delete.
    pub fn insert_implied_deletes(&self, info: &TableInfo, table: &TableName, snapshot: &Snapshot) -> String {
        format!(
            "INSERT INTO {} ({INSERT_COLUMNS}) SELECT '', 0, 0, last_key, toDateTime64(0, 3), 'd', {}, {}, 'bootstrap', last_row, '' \
             FROM ({}) WHERE last_op != 'd' AND last_lsn < {}",
            self.events(table),
            snapshot.time_ms,
            snapshot.event_lsn,
            self.latest_per_key(info, table),
            snapshot.event_lsn
        )
    }

    /// The import ledger, `<raw>.bootstrap_imports`: which chunks of which export were imported, so
    /// a second import adds nothing and an interrupted one resumes.
    pub fn ledger(&self) -> String {
        format!("`{}`.bootstrap_imports", self.database)
    }

    /// The ledger's DDL (`clickhouse/templates/bootstrap_imports.sql`), cluster-aware like the
    /// rest of the raw layer.
    pub fn create_ledger(&self, layout: &Layout) -> Result<String> {
        template::BOOTSTRAP_IMPORTS.render(&[
            ("table", &self.ledger()),
            ("on_cluster", &layout.on_cluster()),
            ("merge_tree", &layout.merge_tree("bootstrap_imports")),
        ])
    }

    pub fn ledger_entries(&self, table: &TableName, event_lsn: u64) -> String {
        format!(
            "SELECT chunk, filter FROM {} WHERE source_table = {} AND event_lsn = {event_lsn}",
            self.ledger(),
            literal(&table.to_string())
        )
    }

    pub fn ledger_record(
        &self,
        export_id: &str,
        table: &TableName,
        event_lsn: u64,
        chunk: u32,
        filter: &str,
        rows: u64,
    ) -> String {
        format!(
            "INSERT INTO {} (export_id, source_table, event_lsn, chunk, filter, rows) VALUES ({}, {}, {event_lsn}, {chunk}, {}, {rows})",
            self.ledger(),
            literal(export_id),
            literal(&table.to_string()),
            literal(filter)
        )
    }
}

/// A ClickHouse string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

const INSERT_COLUMNS: &str =
    "kafka_topic, kafka_partition, kafka_offset, kafka_key, kafka_ts, op, source_ts_ms, lsn, origin, before, after";

/// The bootstrap rows of one export's chunk (offsets `[first, end)`), matching the filter if any.
pub fn chunk_rows_condition(event_lsn: u64, first: u64, end: u64, filter: Option<&DateFilter>) -> String {
    let mut condition = format!(
        "origin = 'bootstrap' AND op = 'r' AND lsn = {event_lsn} AND kafka_offset >= {first} AND kafka_offset < {end}"
    );
    if let Some(f) = filter {
        condition.push_str(&format!(" AND {}", f.condition("after")));
    }
    condition
}

/// The text of one primary key, the same for every event of a row: key columns read from `json`,
/// strings unquoted, numbers and booleans as written, joined with the unit separator (0x1f).
pub fn key_expr(info: &TableInfo, json: &str) -> String {
    let parts: Vec<String> = info
        .primary_key
        .iter()
        .map(|name| {
            let string_valued = info.column(name).is_none_or(|c| is_json_string(c.encoding));
            if string_valued {
                format!("JSONExtractString({json}, {})", literal(name))
            } else {
                format!("JSONExtractRaw({json}, {})", literal(name))
            }
        })
        .collect();
    if parts.len() == 1 { parts[0].clone() } else { format!("concat({})", parts.join(", '\\x1F', ")) }
}

/// Whether Debezium writes this encoding as a JSON string.
pub fn is_json_string(encoding: Encoding) -> bool {
    !matches!(
        encoding,
        Encoding::Bool
            | Encoding::Int2
            | Encoding::Int4
            | Encoding::Int8
            | Encoding::Oid
            | Encoding::Float4
            | Encoding::Float8
            | Encoding::Date
            | Encoding::Time
            | Encoding::Timestamp
            | Encoding::JsonCast
    )
}

/// The 64-bit hash of a key text both databases compute alike: the first 8 bytes of its MD5,
/// big-endian. Summed (mod 2^64) over a table it is an order-independent checksum of the key set.
pub fn key_hash(expr: &str) -> String {
    format!("reinterpretAsUInt64(reverse(substring(MD5({expr}), 1, 8)))")
}

/// `--since/--until` on a date, timestamp or timestamptz column, as a condition on the row JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFilter {
    pub column: String,
    pub encoding: Encoding,
    /// Inclusive lower and exclusive upper bound, as days since 1970-01-01.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// The flags as given, for messages and the import ledger.
    pub text: String,
}

impl DateFilter {
    pub fn condition(&self, json: &str) -> String {
        let col = literal(&self.column);
        let mut parts = Vec::new();
        let bound = |days: i64| -> String {
            match self.encoding {
                Encoding::Timestamp => (days * 86_400_000).to_string(),
                Encoding::TimestampTz(_) => literal(&iso_date(days)),
                _ => days.to_string(),
            }
        };
        let value = match self.encoding {
            Encoding::TimestampTz(_) => format!("JSONExtract({json}, {col}, 'Nullable(String)')"),
            _ => format!("JSONExtract({json}, {col}, 'Nullable(Int64)')"),
        };
        if let Some(since) = self.since {
            parts.push(format!("{value} >= {}", bound(since)));
        }
        if let Some(until) = self.until {
            parts.push(format!("{value} < {}", bound(until)));
        }
        // NULL dates compare to NULL and are left out, as they are outside any range.
        format!("ifNull({}, 0)", parts.join(" AND "))
    }
}

fn iso_date(days: i64) -> String {
    let (y, m, d) = super::debezium::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = super::debezium::days_from_civil(y, m, d);
    // Reject days past the month's end (2026-02-30) by round-tripping.
    (super::debezium::civil_from_days(days) == (y, m, d)).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::catalog::Column;

    fn info() -> TableInfo {
        TableInfo {
            table: "referencedata.orderables".into(),
            columns: vec![
                Column { name: "id".into(), type_name: "uuid".into(), encoding: Encoding::Uuid },
                Column { name: "versionnumber".into(), type_name: "bigint".into(), encoding: Encoding::Int8 },
            ],
            primary_key: vec!["id".into(), "versionnumber".into()],
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot { lsn: "0/10".into(), event_lsn: 15, time: String::new(), time_ms: 1000, consistency: "locked".into() }
    }

    #[test]
    fn keys_are_read_by_type() {
        assert_eq!(
            key_expr(&info(), "after"),
            "concat(JSONExtractString(after, 'id'), '\\x1F', JSONExtractRaw(after, 'versionnumber'))"
        );
    }

    fn raw() -> RawLayer {
        RawLayer { database: "raw".into() }
    }

    #[test]
    fn insert_sets_the_bootstrap_columns() {
        let t = TableName::parse("referencedata.orderables").unwrap();
        let sql = raw().insert_chunk(&t, &snapshot(), None);
        assert!(sql.starts_with("INSERT INTO `raw`.`events_referencedata_orderables` (kafka_topic,"), "{sql}");
        assert!(sql.contains(") SETTINGS input_format_parallel_parsing = 0, "), "{sql}");
        assert!(sql.contains("SELECT '', 0, o, k, toDateTime64(0, 3), 'r', 1000, 15, 'bootstrap', '', a"), "{sql}");
        assert!(sql.ends_with("FORMAT TabSeparated"), "{sql}");
    }

    #[test]
    fn filters_compare_in_each_encoding() {
        let since = parse_date("2024-01-01").unwrap();
        let until = parse_date("2024-02-01").unwrap();
        let f = |encoding| DateFilter {
            column: "d".into(),
            encoding,
            since: Some(since),
            until: Some(until),
            text: String::new(),
        };
        assert_eq!(
            f(Encoding::Date).condition("a"),
            "ifNull(JSONExtract(a, 'd', 'Nullable(Int64)') >= 19723 AND JSONExtract(a, 'd', 'Nullable(Int64)') < 19754, 0)"
        );
        assert!(f(Encoding::Timestamp).condition("a").contains(">= 1704067200000"));
        assert!(f(Encoding::TimestampTz(6)).condition("a").contains("'Nullable(String)') < '2024-02-01'"));
    }

    #[test]
    fn dates_are_validated() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        for bad in ["2024-02-30", "2024-13-01", "24-01-01", "2024-1-1", "2024-01-01T00", "yesterday"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn ledger_follows_the_layout() {
        let single = Layout::for_tests();
        let sql = raw().create_ledger(&single).unwrap();
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS `raw`.bootstrap_imports\n"), "{sql}");
        assert!(sql.contains("ENGINE = MergeTree\n"), "{sql}");
        let cluster = Layout { cluster: Some("olmis".into()), ..single };
        let sql = raw().create_ledger(&cluster).unwrap();
        assert!(sql.contains("`raw`.bootstrap_imports ON CLUSTER `olmis`"), "{sql}");
        assert!(sql.contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/raw/bootstrap_imports'"), "{sql}");
    }

    #[test]
    fn literals_escape() {
        assert_eq!(literal("it's a \\ test"), "'it\\'s a \\\\ test'");
    }
}
