//! `reconcile`: per table, the row count and a key checksum of the source table in PostgreSQL
//! against the current state of `raw.events_<t>` in ClickHouse, and against the curated marts that
//! mirror a source table one row per key.
//!
//! The checksum is the sum (mod 2^64) of a 64-bit hash of each primary key's text: the first 8 bytes
//! of MD5, big-endian, which both databases compute natively. The key text is what Debezium's JSON
//! carries for each key column (strings unquoted, numbers as written, dates as epoch days, ...),
//! rendered in PostgreSQL by SQL and in ClickHouse read back from the event JSON; composite keys are
//! joined with 0x1f. Equal counts with different checksums mean the same number of rows but not the
//! same keys.

use serde::Serialize;
use tokio_postgres::GenericClient;

use super::catalog::{self, TableInfo, quote_ident, quote_table};
use super::debezium::Encoding;
use super::progress::count;
use super::raw_events::{self as sql, RawLayer};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::postgres::query_error;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::{Settings, TableName};

/// A curated mart that holds exactly one row per row of a source table.
pub struct Mirror {
    /// The mart's name in the curated database.
    pub mart: &'static str,
    pub table: &'static str,
    /// The mart's columns holding the source's primary key, in key order.
    pub key: &'static [&'static str],
}

/// Marts of the core package that mirror a source table (as their dbt reconciliation tests declare).
pub const MIRRORS: &[Mirror] =
    &[Mirror { mart: "mart_facility_directory", table: "referencedata.facilities", key: &["facility_id"] }];

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub rows: u64,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// `schema.table`, or the mart for mart comparisons.
    pub name: String,
    /// What the source is compared with: `raw.events_<t>` or a mart.
    pub against: String,
    pub postgresql: Side,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Side>,
    pub status: Status,
    /// ClickHouse rows minus PostgreSQL rows.
    pub row_difference: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Equal,
    /// Row counts differ.
    RowsDiffer,
    /// Same count, different keys.
    KeysDiffer,
    /// The ClickHouse side is missing (no raw table).
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub equal: bool,
    pub tables: Vec<Comparison>,
    pub marts: Vec<Comparison>,
    /// Mirrors not compared, with why (mart not built yet).
    pub skipped: Vec<String>,
}

impl ReconcileReport {
    pub fn new(tables: Vec<Comparison>, marts: Vec<Comparison>, skipped: Vec<String>) -> ReconcileReport {
        let equal = tables.iter().chain(&marts).all(|c| c.status == Status::Equal);
        ReconcileReport { equal, tables, marts, skipped }
    }

    pub fn divergent(&self) -> Vec<&Comparison> {
        self.tables.iter().chain(&self.marts).filter(|c| c.status != Status::Equal).collect()
    }
}

impl Report for ReconcileReport {
    fn human(&self, styles: &Styles) -> String {
        let all: Vec<&Comparison> = self.tables.iter().chain(&self.marts).collect();
        let width = all.iter().map(|c| c.name.len()).max().unwrap_or(5).max(5);
        let mut out = format!(
            "{:width$}  {:>12}  {:>12}  {:>9}  {}\n",
            styles.bold.apply_to("TABLE"),
            "POSTGRESQL",
            "CLICKHOUSE",
            "DIFF",
            "RESULT"
        );
        for c in &all {
            let ch_rows = c.clickhouse.as_ref().map(|s| count(s.rows)).unwrap_or_else(|| "-".into());
            let result = match c.status {
                Status::Equal => styles.ok.apply_to("equal").to_string(),
                Status::RowsDiffer => styles.fail.apply_to("rows differ").to_string(),
                Status::KeysDiffer => styles.fail.apply_to("same count, different keys").to_string(),
                Status::Missing => styles.fail.apply_to("missing in ClickHouse").to_string(),
            };
            let note =
                c.note.as_ref().map(|n| format!(" {}", styles.dim.apply_to(format!("({n})")))).unwrap_or_default();
            out.push_str(&format!(
                "{:width$}  {:>12}  {:>12}  {:>+9}  {result}{note}\n",
                c.name,
                count(c.postgresql.rows),
                ch_rows,
                c.row_difference
            ));
        }
        for s in &self.skipped {
            out.push_str(&format!("{}\n", styles.dim.apply_to(format!("skipped: {s}"))));
        }
        let bad = self.divergent().len();
        if bad == 0 {
            out.push_str(&format!("{} compared, all equal\n", all.len()));
        } else {
            out.push_str(&format!("{} compared, {} divergent\n", all.len(), styles.fail.apply_to(bad)));
        }
        out
    }

    fn exit(&self) -> Exit {
        if self.equal { Exit::Ok } else { Exit::Failed }
    }
}

/// The SQL text of one key column's value as Debezium's JSON carries it.
pub fn pg_key_text(info: &TableInfo, column: &str) -> Result<String> {
    let c = info
        .column(column)
        .ok_or_else(|| Error::usage(format!("{}: key column {column} is not a column", info.table)))?;
    let col = quote_ident(column);
    let utc = format!("({col} AT TIME ZONE 'UTC')");
    Ok(match c.encoding {
        // char(n) keeps its padding in Debezium; a cast to text would strip it.
        Encoding::Text if c.type_name.starts_with("character(") || c.type_name == "character" => {
            format!("format('%s', {col})")
        }
        Encoding::Text
        | Encoding::Uuid
        | Encoding::Numeric
        | Encoding::Int2
        | Encoding::Int4
        | Encoding::Int8
        | Encoding::Oid
        | Encoding::Json
        | Encoding::Jsonb
        | Encoding::TextCast => format!("{col}::text"),
        Encoding::Bool => format!("CASE WHEN {col} THEN 'true' ELSE 'false' END"),
        Encoding::Date => format!("({col} - DATE '1970-01-01')::text"),
        Encoding::Time | Encoding::Timestamp => format!("floor(extract(epoch FROM {col}) * 1000)::bigint::text"),
        Encoding::TimestampTz(0) => format!("to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"),
        Encoding::TimestampTz(p) => {
            format!("to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.') || left(to_char({utc}, 'US'), {p}) || 'Z'")
        }
        Encoding::Bytea => format!("replace(encode({col}, 'base64'), E'\\n', '')"),
        Encoding::Float4 | Encoding::Float8 | Encoding::JsonCast => {
            return Err(Error::usage(format!(
                "{}: key column {column} is {}, which reconcile can't compare exactly",
                info.table, c.type_name
            )));
        }
    })
}

fn pg_key_expr(info: &TableInfo) -> Result<String> {
    let parts = info.primary_key.iter().map(|k| pg_key_text(info, k)).collect::<Result<Vec<_>>>()?;
    Ok(if parts.len() == 1 { parts[0].clone() } else { format!("concat_ws(E'\\x1f', {})", parts.join(", ")) })
}

/// Row count and key checksum of a source table (2^64 = 18446744073709551616).
pub fn pg_checksum_sql(info: &TableInfo, table: &TableName) -> Result<String> {
    Ok(format!(
        "SELECT count(*), coalesce((sum(('x' || left(md5(k), 16))::bit(64)::bigint) % 18446744073709551616 \
         + 18446744073709551616) % 18446744073709551616, 0)::text FROM (SELECT {} AS k FROM {}) s",
        pg_key_expr(info)?,
        quote_table(table)
    ))
}

/// Row count and key checksum of a mart whose key columns hold the source key (as text).
pub fn mart_checksum_sql(curated: &str, mirror: &Mirror) -> String {
    let parts: Vec<String> = mirror.key.iter().map(|k| format!("toString(`{k}`)")).collect();
    let key = if parts.len() == 1 { parts[0].clone() } else { format!("concat({})", parts.join(", '\\x1F', ")) };
    format!("SELECT count(), toString(sum({})) FROM `{curated}`.`{}`", sql::key_hash(&key), mirror.mart)
}

async fn pg_side(pg: &impl GenericClient, info: &TableInfo, table: &TableName) -> Result<Side> {
    let row = pg
        .query_one(&pg_checksum_sql(info, table)?, &[])
        .await
        .map_err(|e| query_error(&format!("counting {table}"), &e))?;
    Ok(Side { rows: row.get::<_, i64>(0) as u64, checksum: row.get(1) })
}

async fn ch_side(ch: &ClickHouse, statement: &str) -> Result<Side> {
    let text = ch.scalar(statement).await?;
    let (rows, checksum) = text.split_once('\t').unwrap_or((&text, ""));
    Ok(Side { rows: rows.trim().parse().unwrap_or(0), checksum: checksum.trim().to_string() })
}

fn compare(name: String, against: String, pg: Side, ch: Option<Side>) -> Comparison {
    let (status, diff) = match &ch {
        None => (Status::Missing, -(pg.rows as i64)),
        Some(c) if c.rows != pg.rows => (Status::RowsDiffer, c.rows as i64 - pg.rows as i64),
        Some(c) if c.checksum != pg.checksum => (Status::KeysDiffer, 0),
        Some(_) => (Status::Equal, 0),
    };
    Comparison { name, against, postgresql: pg, clickhouse: ch, status, row_difference: diff, note: None }
}

/// Where the two sides live in ClickHouse: the raw events dbt reads, and the marts it builds.
pub struct Databases {
    pub raw: RawLayer,
    pub curated: String,
}

impl Databases {
    pub fn from_settings(settings: &Settings) -> Databases {
        Databases { raw: RawLayer::from_settings(settings), curated: settings.clickhouse.curated_database.clone() }
    }
}

/// Compares each table (and each mart mirroring one of them) between the two databases.
pub async fn reconcile(
    pg: &impl GenericClient,
    ch: &ClickHouse,
    at: &Databases,
    tables: &[TableName],
) -> Result<ReconcileReport> {
    let mut compared = Vec::new();
    let mut infos = Vec::new();
    for table in tables {
        let info = catalog::describe(pg, table).await?;
        let source = pg_side(pg, &info, table).await?;
        let against = at.raw.events_name(table);
        let exists = ch.scalar(&format!("EXISTS TABLE {}", at.raw.events(table))).await? == "1";
        let mut c = if exists {
            let side = ch_side(ch, &at.raw.current_state_checksum(&info, table)).await?;
            compare(table.to_string(), against, source, Some(side))
        } else {
            let mut c = compare(table.to_string(), against, source, None);
            c.note = Some("run olmisctl clickhouse-init".into());
            c
        };
        if c.status == Status::KeysDiffer {
            c.note = Some("the same number of rows, but not the same keys".into());
        }
        compared.push(c);
        infos.push((table.clone(), info));
    }
    let mut marts = Vec::new();
    let mut skipped = Vec::new();
    for mirror in MIRRORS {
        let Some((table, info)) = infos.iter().find(|(t, _)| t.to_string() == mirror.table) else {
            continue;
        };
        let mart = format!("{}.{}", at.curated, mirror.mart);
        if ch.scalar(&format!("EXISTS TABLE {mart}")).await? != "1" {
            skipped.push(format!("{mart} (mirrors {table}): not built yet"));
            continue;
        }
        let source = pg_side(pg, info, table).await?;
        let side = ch_side(ch, &mart_checksum_sql(&at.curated, mirror)).await?;
        marts.push(compare(mart.clone(), mart, source, Some(side)));
    }
    Ok(ReconcileReport::new(compared, marts, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::catalog::Column;

    fn info(columns: &[(&str, &str, Encoding)], key: &[&str]) -> TableInfo {
        TableInfo {
            table: "s.t".into(),
            columns: columns
                .iter()
                .map(|(n, t, e)| Column { name: n.to_string(), type_name: t.to_string(), encoding: *e })
                .collect(),
            primary_key: key.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn key_text_matches_debezium_encodings() {
        let i = info(
            &[
                ("id", "uuid", Encoding::Uuid),
                ("d", "date", Encoding::Date),
                ("c", "character(3)", Encoding::Text),
                ("t", "timestamp with time zone", Encoding::TimestampTz(3)),
                ("f", "double precision", Encoding::Float8),
            ],
            &["id", "d"],
        );
        assert_eq!(pg_key_text(&i, "d").unwrap(), "(\"d\" - DATE '1970-01-01')::text");
        assert_eq!(pg_key_text(&i, "c").unwrap(), "format('%s', \"c\")");
        assert!(pg_key_text(&i, "t").unwrap().contains("left(to_char((\"t\" AT TIME ZONE 'UTC'), 'US'), 3)"));
        assert!(pg_key_text(&i, "f").is_err());
        assert_eq!(pg_key_expr(&i).unwrap(), "concat_ws(E'\\x1f', \"id\"::text, (\"d\" - DATE '1970-01-01')::text)");
    }

    #[test]
    fn marts_hash_their_key_columns_like_the_source() {
        let sql = mart_checksum_sql("curated", &MIRRORS[0]);
        assert_eq!(
            sql,
            "SELECT count(), toString(sum(reinterpretAsUInt64(reverse(substring(MD5(toString(`facility_id`)), 1, 8))))) \
             FROM `curated`.`mart_facility_directory`"
        );
    }

    #[test]
    fn comparisons_classify_differences() {
        let side = |rows, sum: &str| Side { rows, checksum: sum.into() };
        assert_eq!(compare("t".into(), "r".into(), side(3, "9"), Some(side(3, "9"))).status, Status::Equal);
        let c = compare("t".into(), "r".into(), side(3, "9"), Some(side(5, "1")));
        assert_eq!((c.status, c.row_difference), (Status::RowsDiffer, 2));
        assert_eq!(compare("t".into(), "r".into(), side(3, "9"), Some(side(3, "1"))).status, Status::KeysDiffer);
        let c = compare("t".into(), "r".into(), side(3, "9"), None);
        assert_eq!((c.status, c.row_difference), (Status::Missing, -3));
        let report = ReconcileReport::new(vec![c], vec![], vec![]);
        assert_eq!(report.exit(), Exit::Failed);
        let text = report.human(&Styles::plain());
        assert!(text.contains("missing in ClickHouse") && text.contains("1 compared, 1 divergent"), "{text}");
    }
}
