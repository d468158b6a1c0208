//! `reconcile`: per table, the row count and a key checksum of the source table in PostgreSQL
//! against the current state of `raw.events_<t>` in ClickHouse, and against the curated marts that
//! mirror a source table, as the packages' `olmis_reconcile` dbt tests declare them
//! ([`crate::packages::mirrors`]).
//!
//! The checksum is the sum (mod 2^64) of a 64-bit hash of each primary key's text: the first 8 bytes
//! of MD5, big-endian, which both databases compute natively. The key text is what Debezium's JSON
//! carries for each key column (strings unquoted, numbers as written, dates as epoch days, ...),
//! rendered in PostgreSQL by SQL and in ClickHouse read back from the event JSON; composite keys are
//! joined with 0x1f. Equal counts with different checksums mean the same number of rows but not the
//! same keys. A mart's keys are typed columns, so for marts both sides hash the keys' plain text
//! (PostgreSQL's `::text`, ClickHouse's `toString`), NULL as 0x1e.

use serde::Serialize;
use tokio_postgres::GenericClient;

use super::catalog::{self, TableInfo, quote_ident, quote_table};
use super::debezium::Encoding;
use super::raw_events::{self as sql, RawLayer};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::postgres::query_error;
use crate::error::{Error, Exit, Result};
use crate::output::thousands;
use crate::output::{Report, Styles};
use crate::packages::{self, mirrors};
use crate::settings::{Settings, TableName};

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
    /// For a mart: the source rows it mirrors (table, keys, filter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
    /// Mirrors not compared, with why (mart not built yet, declaration unusable).
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
            let ch_rows = c.clickhouse.as_ref().map(|s| thousands(s.rows)).unwrap_or_else(|| "-".into());
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
                thousands(c.postgresql.rows),
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

/// Row count and key checksum over the key texts `k` of `rows` (2^64 = 18446744073709551616).
fn pg_checksum_over(rows: &str) -> String {
    format!(
        "SELECT count(*), coalesce((sum(('x' || left(md5(k), 16))::bit(64)::bigint) % 18446744073709551616 \
         + 18446744073709551616) % 18446744073709551616, 0)::text FROM ({rows}) s"
    )
}

/// Row count and key checksum of a source table.
pub fn pg_checksum_sql(info: &TableInfo, table: &TableName) -> Result<String> {
    Ok(pg_checksum_over(&format!("SELECT {} AS k FROM {}", pg_key_expr(info)?, quote_table(table))))
}

/// The NULL marker in mart key texts (0x1e, the record separator: not in real keys).
const NULL_KEY: &str = "\\x1e";

/// Row count and key checksum of the source rows a mart mirrors: `source_keys` as plain text over
/// the rows matching `source_where`, distinct if declared so.
pub fn pg_mirror_sql(info: &TableInfo, d: &mirrors::Declaration) -> std::result::Result<String, String> {
    let mut columns = Vec::new();
    for key in &d.source_keys {
        let c = info.column(key).ok_or_else(|| format!("source key column {key} is not a column of {}", info.table))?;
        if !matches!(
            c.encoding,
            Encoding::Uuid
                | Encoding::Text
                | Encoding::Int2
                | Encoding::Int4
                | Encoding::Int8
                | Encoding::Bool
                | Encoding::Date
        ) {
            return Err(format!(
                "source key column {key} is {}: reconcile compares uuid, text, integer, boolean and date keys",
                c.type_name
            ));
        }
        columns.push(format!("coalesce({}::text, E'{NULL_KEY}') AS {}", quote_ident(key), quote_ident(key)));
    }
    let filter = d.source_where.as_ref().map(|w| format!(" WHERE ({w})")).unwrap_or_default();
    let distinct = if d.distinct { "DISTINCT " } else { "" };
    let rows = format!("SELECT {distinct}{} FROM {}{filter}", columns.join(", "), quote_table(&d.source_table));
    let names: Vec<String> = d.source_keys.iter().map(|k| quote_ident(k)).collect();
    let key = if names.len() == 1 { names[0].clone() } else { format!("concat_ws(E'\\x1f', {})", names.join(", ")) };
    Ok(pg_checksum_over(&format!("SELECT {key} AS k FROM ({rows}) r")))
}

/// Row count and key checksum of a mart, its key columns hashed as text like [`pg_mirror_sql`].
pub fn mart_checksum_sql(curated: &str, mirror: &mirrors::Mirror) -> String {
    let parts: Vec<String> =
        mirror.declaration.keys.iter().map(|k| format!("ifNull(toString(`{k}`), '{NULL_KEY}')")).collect();
    let key = if parts.len() == 1 { parts[0].clone() } else { format!("concat({})", parts.join(", '\\x1F', ")) };
    format!("SELECT count(), toString(sum({})) FROM `{curated}`.`{}`", sql::key_hash(&key), mirror.relation)
}

/// What a mart mirrors, for people: `stockmanagement.stock_cards by distinct facilityid, programid`.
pub fn describe_source(d: &mirrors::Declaration) -> String {
    let distinct = if d.distinct { "distinct " } else { "" };
    let filter = d.source_where.as_ref().map(|w| format!(" where {w}")).unwrap_or_default();
    format!("{} by {distinct}{}{filter}", d.source_table, d.source_keys.join(", "))
}

/// The mirrors the configured packages declare; when the packages can't be read, none, with why.
pub fn declared_mirrors(settings: &Settings) -> mirrors::Mirrors {
    match packages::resolve(settings) {
        Ok(set) => mirrors::collect(&set),
        Err(e) => mirrors::Mirrors {
            curated: Vec::new(),
            problems: vec![format!("marts: the configured packages can't be read ({e})")],
        },
    }
}

async fn pg_side(pg: &impl GenericClient, info: &TableInfo, table: &TableName) -> Result<Side> {
    let row = pg
        .query_one(&pg_checksum_sql(info, table)?, &[])
        .await
        .map_err(|e| query_error(&format!("counting {table}"), &e))?;
    Ok(Side { rows: row.get::<_, i64>(0) as u64, checksum: row.get(1) })
}

fn parse_side(text: &str) -> Side {
    let (rows, checksum) = text.split_once('\t').unwrap_or((text, ""));
    Side { rows: rows.trim().parse().unwrap_or(0), checksum: checksum.trim().to_string() }
}

async fn ch_side(ch: &ClickHouse, statement: &str) -> Result<Side> {
    Ok(parse_side(&ch.scalar(statement).await?))
}

fn compare(name: String, against: String, pg: Side, ch: Option<Side>) -> Comparison {
    let (status, diff) = match &ch {
        None => (Status::Missing, -(pg.rows as i64)),
        Some(c) if c.rows != pg.rows => (Status::RowsDiffer, c.rows as i64 - pg.rows as i64),
        Some(c) if c.checksum != pg.checksum => (Status::KeysDiffer, 0),
        Some(_) => (Status::Equal, 0),
    };
    Comparison { name, against, source: None, postgresql: pg, clickhouse: ch, status, row_difference: diff, note: None }
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

/// Compares each table, and each declared mart mirroring one of them, between the two databases.
pub async fn reconcile(
    pg: &impl GenericClient,
    ch: &ClickHouse,
    at: &Databases,
    tables: &[TableName],
    declared: &mirrors::Mirrors,
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
    let mut skipped = declared.problems.clone();
    for mirror in &declared.curated {
        let d = &mirror.declaration;
        let Some((_, info)) = infos.iter().find(|(t, _)| *t == d.source_table) else {
            continue;
        };
        let mart = format!("{}.{}", at.curated, mirror.relation);
        let source = describe_source(d);
        match compare_mart(pg, ch, at, mirror, info).await? {
            MartSide::NotBuilt => skipped.push(format!("{mart} (mirrors {}): not built yet", d.source_table)),
            MartSide::Unusable(why) => skipped.push(format!("{mart} (declared in {}): {why}", mirror.declared_in)),
            MartSide::Compared(pg_rows, mart_rows) => {
                let mut c = compare(mart.clone(), mart, pg_rows, Some(mart_rows));
                c.note = Some(format!("from {source}"));
                c.source = Some(source);
                marts.push(c);
            }
        }
    }
    Ok(ReconcileReport::new(compared, marts, skipped))
}

enum MartSide {
    NotBuilt,
    /// The declaration can't be evaluated (a key column missing, a filter PostgreSQL rejects, ...).
    Unusable(String),
    Compared(Side, Side),
}

async fn compare_mart(
    pg: &impl GenericClient,
    ch: &ClickHouse,
    at: &Databases,
    mirror: &mirrors::Mirror,
    info: &TableInfo,
) -> Result<MartSide> {
    if ch.scalar(&format!("EXISTS TABLE `{}`.`{}`", at.curated, mirror.relation)).await? != "1" {
        return Ok(MartSide::NotBuilt);
    }
    let statement = match pg_mirror_sql(info, &mirror.declaration) {
        Ok(s) => s,
        Err(why) => return Ok(MartSide::Unusable(why)),
    };
    let row = match pg.query_one(&statement, &[]).await {
        Ok(row) => row,
        // A connection failure fails the command; a rejected statement only this comparison.
        Err(e) if e.as_db_error().is_some() => {
            return Ok(MartSide::Unusable(format!(
                "PostgreSQL rejects the source query: {}",
                e.as_db_error().map(|d| d.message()).unwrap_or_default()
            )));
        }
        Err(e) => return Err(query_error(&format!("counting {}", mirror.declaration.source_table), &e)),
    };
    let source = Side { rows: row.get::<_, i64>(0) as u64, checksum: row.get(1) };
    let statement = format!("{}\nFORMAT TabSeparatedRaw", mart_checksum_sql(&at.curated, mirror));
    match ch.try_raw(&statement).await? {
        Ok(text) => Ok(MartSide::Compared(source, parse_side(text.trim_end()))),
        Err(e) => Ok(MartSide::Unusable(format!("ClickHouse rejects the mart query: {}", e.message))),
    }
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

    fn declaration(keys: &[&str], source_keys: &[&str]) -> mirrors::Declaration {
        mirrors::Declaration {
            model: "mart_x".into(),
            source_table: TableName::parse("s.t").unwrap(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            source_keys: source_keys.iter().map(|k| k.to_string()).collect(),
            source_where: None,
            distinct: false,
            schema: None,
            alias: None,
        }
    }

    #[test]
    fn marts_hash_their_key_columns_like_the_source() {
        let mirror = mirrors::Mirror {
            relation: "mart_x".into(),
            declaration: declaration(&["facility_id"], &["id"]),
            declared_in: String::new(),
        };
        assert_eq!(
            mart_checksum_sql("curated", &mirror),
            "SELECT count(), toString(sum(reinterpretAsUInt64(reverse(substring(MD5(ifNull(toString(`facility_id`), '\\x1e')), 1, 8))))) \
             FROM `curated`.`mart_x`"
        );
        let i = info(&[("id", "uuid", Encoding::Uuid), ("n", "integer", Encoding::Int4)], &["id"]);
        let sql = pg_mirror_sql(&i, &mirror.declaration).unwrap();
        assert!(sql.contains("FROM (SELECT \"id\" AS k FROM (SELECT coalesce(\"id\"::text, E'\\x1e') AS \"id\" FROM \"s\".\"t\") r) s"), "{sql}");
    }

    #[test]
    fn mirror_sources_apply_filter_and_distinct() {
        let i = info(
            &[
                ("a", "uuid", Encoding::Uuid),
                ("b", "bigint", Encoding::Int8),
                ("f", "double precision", Encoding::Float8),
            ],
            &["a"],
        );
        let mut d = declaration(&["x", "y"], &["a", "b"]);
        d.distinct = true;
        d.source_where = Some("b > 2 OR a IS NULL".into());
        let sql = pg_mirror_sql(&i, &d).unwrap();
        assert!(sql.contains("SELECT concat_ws(E'\\x1f', \"a\", \"b\") AS k FROM (SELECT DISTINCT coalesce("), "{sql}");
        assert!(sql.contains(" WHERE (b > 2 OR a IS NULL)) r"), "{sql}");
        assert_eq!(describe_source(&d), "s.t by distinct a, b where b > 2 OR a IS NULL");
        let err = pg_mirror_sql(&i, &declaration(&["x"], &["f"])).unwrap_err();
        assert!(err.contains("f is double precision"), "{err}");
        let err = pg_mirror_sql(&i, &declaration(&["x"], &["nope"])).unwrap_err();
        assert!(err.contains("nope is not a column"), "{err}");
        let mirror = mirrors::Mirror { relation: "m".into(), declaration: d, declared_in: String::new() };
        assert!(
            mart_checksum_sql("c", &mirror)
                .contains("concat(ifNull(toString(`x`), '\\x1e'), '\\x1F', ifNull(toString(`y`)")
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
