//! What the export needs to know about a source table, read from PostgreSQL's catalog: its columns in
//! order with their types (which decide the Debezium encoding), and its primary key in the key's own
//! column order (Debezium builds the Kafka key in that order).

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use super::debezium::Encoding;
use crate::clients::postgres::{SERVICE, query_error};
use crate::error::{Error, Result};
use crate::settings::{Settings, TableName};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// PostgreSQL's name of the type, for people reading the manifest.
    #[serde(rename = "type")]
    pub type_name: String,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub table: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
}

impl TableInfo {
    /// Positions of the primary key columns in `columns`, in key order.
    pub fn key_positions(&self) -> Vec<usize> {
        self.primary_key.iter().filter_map(|k| self.columns.iter().position(|c| &c.name == k)).collect()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The encoding for a column from its (base) type name, category and type modifier.
pub fn encoding_for(typname: &str, category: &str, typmod: i32) -> Encoding {
    if category == "A" {
        return Encoding::JsonCast;
    }
    match typname {
        "bool" => Encoding::Bool,
        "int2" => Encoding::Int2,
        "int4" => Encoding::Int4,
        "int8" => Encoding::Int8,
        "oid" => Encoding::Oid,
        "float4" => Encoding::Float4,
        "float8" => Encoding::Float8,
        "numeric" => Encoding::Numeric,
        "text" | "varchar" | "bpchar" | "name" => Encoding::Text,
        "uuid" => Encoding::Uuid,
        "date" => Encoding::Date,
        "time" => Encoding::Time,
        "timestamp" => Encoding::Timestamp,
        // The modifier of timestamptz(p) is p itself; -1 means no precision (microseconds).
        "timestamptz" => Encoding::TimestampTz(if (0..=6).contains(&typmod) { typmod as u8 } else { 6 }),
        "json" => Encoding::Json,
        "jsonb" => Encoding::Jsonb,
        "bytea" => Encoding::Bytea,
        _ => Encoding::TextCast,
    }
}

/// Quotes an identifier for SQL (names come from the catalog, but may need quoting).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn quote_table(table: &TableName) -> String {
    format!("{}.{}", quote_ident(&table.schema), quote_ident(&table.table))
}

/// The SELECT list of the export's COPY: native binary for the types the encoder knows, casts for
/// the others.
pub fn select_list(info: &TableInfo) -> String {
    info.columns
        .iter()
        .map(|c| {
            let col = quote_ident(&c.name);
            match c.encoding {
                Encoding::JsonCast => format!("to_json({col})::text"),
                Encoding::TextCast => format!("{col}::text"),
                _ => col,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const COLUMNS_SQL: &str = "
SELECT a.attname::text,
       format_type(a.atttypid, a.atttypmod),
       bt.typname::text,
       bt.typcategory::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum";

const PRIMARY_KEY_SQL: &str = "
SELECT a.attname::text
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::text::regclass AND i.indisprimary
ORDER BY k.ord";

/// Reads one table's columns and primary key. A missing table or one without a primary key is a
/// clear error: the current-state rule needs a key.
pub async fn describe(client: &impl GenericClient, table: &TableName) -> Result<TableInfo> {
    ensure_exists(client, table).await?;
    let qualified = quote_table(table);
    let rows = client
        .query(COLUMNS_SQL, &[&qualified])
        .await
        .map_err(|e| query_error(&format!("reading the columns of {table}"), &e))?;
    let columns = rows
        .iter()
        .map(|r| Column {
            name: r.get(0),
            type_name: r.get(1),
            encoding: encoding_for(r.get::<_, String>(2).as_str(), r.get::<_, String>(3).as_str(), r.get(4)),
        })
        .collect();
    let primary_key: Vec<String> = client
        .query(PRIMARY_KEY_SQL, &[&qualified])
        .await
        .map_err(|e| query_error(&format!("reading the primary key of {table}"), &e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if primary_key.is_empty() {
        return Err(Error::service(SERVICE, format!("table {table} has no primary key"))
            .with_hint("the current state of a table is resolved per primary key; add one, or leave the table out"));
    }
    Ok(TableInfo { table: table.to_string(), columns, primary_key })
}

/// A clear error for a table that isn't there (rather than PostgreSQL's "relation does not exist"
/// from whatever statement meets it first).
pub async fn ensure_exists(client: &impl GenericClient, table: &TableName) -> Result<()> {
    let exists = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&quote_table(table)])
        .await
        .map_err(|e| query_error(&format!("looking up {table}"), &e))?;
    if exists.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(Error::service(SERVICE, format!("table {table} does not exist in the source database"))
            .with_hint("check --tables (or SOURCE_PG_TABLE_ALLOWLIST) and SOURCE_PG_DB"))
    }
}

/// The tables a command works on by default: what CDC captures, i.e. `SOURCE_PG_TABLE_ALLOWLIST`,
/// else the core package's tables (as the connector config and `clickhouse-init` resolve them).
pub fn captured_tables(settings: &Settings) -> Result<Vec<TableName>> {
    if !settings.source.table_allowlist.is_empty() {
        return Ok(settings.source.table_allowlist.clone());
    }
    crate::packages::resolve(settings)?.core_tables()
}

/// Parses a `--tables` value; each entry must be `schema.table`.
pub fn parse_tables(value: &str) -> Result<Vec<TableName>> {
    let mut tables = Vec::new();
    for entry in crate::settings::split_list(value) {
        let table = TableName::parse(&entry).ok_or_else(|| {
            Error::usage(format!("--tables: {entry:?} is not a schema.table name"))
                .with_hint("use lowercase schema.table names separated by commas, e.g. referencedata.facilities")
        })?;
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    if tables.is_empty() {
        return Err(Error::usage("--tables is empty").with_hint("name at least one schema.table"));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_types() {
        assert_eq!(encoding_for("timestamptz", "D", -1), Encoding::TimestampTz(6));
        assert_eq!(encoding_for("timestamptz", "D", 3), Encoding::TimestampTz(3));
        assert_eq!(encoding_for("_text", "A", -1), Encoding::JsonCast);
        assert_eq!(encoding_for("geometry", "U", -1), Encoding::TextCast);
        assert_eq!(encoding_for("bpchar", "S", 7), Encoding::Text);
    }

    #[test]
    fn select_list_casts_what_the_encoder_does_not_read() {
        let info = TableInfo {
            table: "s.t".into(),
            columns: vec![
                Column { name: "id".into(), type_name: "uuid".into(), encoding: Encoding::Uuid },
                Column { name: "tags".into(), type_name: "text[]".into(), encoding: Encoding::JsonCast },
                Column { name: "Odd\"name".into(), type_name: "interval".into(), encoding: Encoding::TextCast },
            ],
            primary_key: vec!["id".into()],
        };
        assert_eq!(select_list(&info), r#""id", to_json("tags")::text, "Odd""name"::text"#);
        assert_eq!(info.key_positions(), vec![0]);
    }

    #[test]
    fn tables_flag_is_validated() {
        assert_eq!(parse_tables("a.b, a.b,c.d").unwrap().len(), 2);
        let err = parse_tables("a.b,facilities").unwrap_err();
        assert!(err.to_string().contains("\"facilities\""), "{err}");
        assert!(parse_tables(" , ").is_err());
    }
}
