//! An OpenLMIS-shaped source database and its raw CDC events, for tests/dbt.rs and the dbt
//! benchmark: the source tables in a fresh PostgreSQL database (tests/fixtures/dbt/), the raw
//! event tables in a fresh ClickHouse database, and Debezium-shaped events derived from the
//! source rows, written as the bootstrap import and the CDC pipeline write them.
#![allow(dead_code)]

use std::cell::Cell;
use std::path::{Path, PathBuf};

use super::common::{Command, project_with_runner, stack, unique};

/// Every source table the core package reads, with its primary key.
pub const TABLES: &[(&str, &[&str])] = &[
    ("referencedata.geographic_levels", &["id"]),
    ("referencedata.geographic_zones", &["id"]),
    ("referencedata.facility_types", &["id"]),
    ("referencedata.facilities", &["id"]),
    ("referencedata.programs", &["id"]),
    ("referencedata.orderables", &["id", "versionnumber"]),
    ("referencedata.program_orderables", &["id"]),
    ("referencedata.supported_programs", &["facilityid", "programid"]),
    ("referencedata.processing_schedules", &["id"]),
    ("referencedata.processing_periods", &["id"]),
    ("referencedata.requisition_group_members", &["requisitiongroupid", "facilityid"]),
    ("referencedata.requisition_group_program_schedules", &["id"]),
    ("referencedata.lots", &["id"]),
    ("requisition.requisitions", &["id"]),
    ("requisition.requisition_line_items", &["id"]),
    ("requisition.status_changes", &["id"]),
    ("stockmanagement.stock_cards", &["id"]),
    ("stockmanagement.stock_card_line_items", &["id"]),
    ("stockmanagement.stock_card_line_item_reasons", &["id"]),
];

/// Where a platform's source data comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// tests/fixtures/dbt/source_data.sql at these sizes: small, with ids and rules a test can
    /// name (`olmis_test_id('card0')`), for changing the source on purpose.
    Generated(Sizes),
    /// `olmisctl demo seed --scale N`: the platform's own demo data.
    Demo { scale: u32 },
}

/// How much source data to generate (see tests/fixtures/dbt/source_data.sql).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub facilities: u32,
    pub districts: u32,
    pub cities: u32,
    pub programs: u32,
    pub orderables: u32,
    pub months: u32,
    pub stock_cards: u32,
    pub lines_per_card: u32,
    pub requisitions: u32,
    pub lines_per_requisition: u32,
}

impl Sizes {
    /// Small but with every case the marts handle: versions, lots, stockouts, late and rejected
    /// requisitions, inactive supports.
    pub const TEST: Sizes = Sizes {
        facilities: 40,
        districts: 6,
        cities: 12,
        programs: 3,
        orderables: 30,
        months: 12,
        stock_cards: 40,
        lines_per_card: 20,
        requisitions: 30,
        lines_per_requisition: 5,
    };

    fn settings_sql(&self) -> String {
        [
            ("facilities", self.facilities),
            ("districts", self.districts),
            ("cities", self.cities),
            ("programs", self.programs),
            ("orderables", self.orderables),
            ("months", self.months),
            ("stock_cards", self.stock_cards),
            ("lines_per_card", self.lines_per_card),
            ("requisitions", self.requisitions),
            ("lines_per_requisition", self.lines_per_requisition),
        ]
        .iter()
        .map(|(name, value)| format!("SET olmis_test.{name} = '{value}';"))
        .collect()
    }
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dbt").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One isolated platform for a test: its own source database, raw and curated ClickHouse
/// databases, and project directory holding a copy of the runner project.
pub struct Platform {
    pub source_db: String,
    pub raw: String,
    pub curated: String,
    pub project: tempfile::TempDir,
    pub core: PathBuf,
    pub extensions: Vec<PathBuf>,
    /// The as-of date the marts are built for (DBT_AS_OF_DATE).
    pub as_of: String,
    next_lsn: Cell<u64>,
}

impl Platform {
    /// Fills a new source database and lands every row as a snapshot event (op `r`, all at one
    /// LSN, as Debezium's initial snapshot and the bootstrap import do).
    pub fn new(prefix: &str, source: Source) -> Platform {
        let s = stack();
        let source_db = s.create_database(prefix);
        let as_of = match source {
            Source::Generated(sizes) => {
                s.psql(&source_db, &fixture("source_schema.sql"));
                s.psql(&source_db, &format!("{}{}", sizes.settings_sql(), fixture("source_data.sql")));
                "2024-12-31".to_string()
            }
            Source::Demo { scale } => {
                let dir = tempfile::tempdir().unwrap();
                let output = s
                    .olmisctl(dir.path())
                    .env("SOURCE_PG_DB", &source_db)
                    .args(["demo", "seed", "--scale", &scale.to_string()])
                    .output()
                    .unwrap();
                assert!(output.status.success(), "demo seed: {}", String::from_utf8_lossy(&output.stderr));
                // the day of the demo's last stock movement: its marts are computed for then
                s.psql(&source_db, "SELECT max(occurreddate) FROM stockmanagement.stock_card_line_items")
            }
        };
        s.psql(&source_db, &fixture("debezium.sql"));
        let name = unique(prefix).to_lowercase();
        let platform = Platform {
            source_db,
            raw: format!("{name}_raw"),
            curated: format!("{name}_curated"),
            project: project_with_runner(),
            core: repo_path("examples/olmis-analytics-core"),
            extensions: vec![repo_path("examples/olmis-analytics-malawi")],
            as_of,
            next_lsn: Cell::new(1_000),
        };
        create_raw_tables(&platform.raw);
        for (table, _) in TABLES {
            platform.emit(table, "r", "true");
        }
        platform
    }

    /// `olmisctl` in this platform's project directory, configured for its databases.
    pub fn olmisctl(&self) -> Command {
        let mut cmd = stack().olmisctl(self.project.path());
        let extensions: Vec<String> = self.extensions.iter().map(|p| p.display().to_string()).collect();
        cmd.env("CLICKHOUSE_RAW_DATABASE", &self.raw)
            .env("CLICKHOUSE_CURATED_DATABASE", &self.curated)
            .env("SOURCE_PG_DB", &self.source_db)
            .env("ANALYTICS_CORE_PATH", &self.core)
            .env("ANALYTICS_EXTENSIONS_PATHS", extensions.join(","))
            .env("DBT_AS_OF_DATE", &self.as_of)
            .timeout(std::time::Duration::from_secs(900));
        cmd
    }

    /// Events in the raw tables, all tables together.
    pub fn raw_event_count(&self) -> u64 {
        let sql = format!("SELECT sum(total_rows) FROM system.tables WHERE database = '{}'", self.raw);
        stack().clickhouse(&sql).parse().unwrap_or(0)
    }

    pub fn psql(&self, sql: &str) -> String {
        stack().psql(&self.source_db, sql)
    }

    /// Lines of a query's TSV result, sorted (row order is not part of any contract).
    pub fn source_rows(&self, sql: &str) -> Vec<String> {
        sorted(&self.psql(sql))
    }

    pub fn curated_rows(&self, sql: &str) -> Vec<String> {
        sorted(&stack().clickhouse(&sql.replace("{curated}", &self.curated)))
    }

    /// Events describing the current rows of `table` that match `filter`, with `op` c, u or r,
    /// each at the next source position.
    pub fn emit(&self, table: &str, op: &str, filter: &str) {
        let origin = if op == "r" { "bootstrap" } else { "cdc" };
        let row = format!("olmis_test_debezium(to_jsonb(t), '{table}')::text");
        self.emit_json(table, op, origin, "''", &row, filter, None);
    }

    /// Delete events for the rows of `table` matching `filter` (call it before deleting them):
    /// the before-image carries only the primary key, as with REPLICA IDENTITY DEFAULT.
    pub fn emit_deletes(&self, table: &str, filter: &str) {
        let keys = key_of(table);
        let pairs: Vec<String> = keys.iter().map(|k| format!("'{k}', t.{k}")).collect();
        let before = format!("olmis_test_debezium(jsonb_build_object({}), '{table}')::text", pairs.join(", "));
        self.emit_json(table, "d", "cdc", &before, "''", filter, None);
    }

    /// An `op` event for the rows matching `filter` whose row image is `row_json` (SQL over the
    /// row `t`), at a fixed old source position: an event that arrives late.
    pub fn emit_late(&self, table: &str, row_json: &str, filter: &str, lsn: u64) {
        self.emit_json(table, "u", "cdc", "''", row_json, filter, Some(lsn));
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_json(
        &self,
        table: &str,
        op: &str,
        origin: &str,
        before: &str,
        after: &str,
        filter: &str,
        lsn: Option<u64>,
    ) {
        let raw_table = format!("{}.events_{}", self.raw, table.replace('.', "_"));
        let offset: u64 = stack().clickhouse(&format!("SELECT count() FROM {raw_table}")).parse().unwrap();
        let first_lsn = self.next_lsn.get();
        // A snapshot shares one position; changes each get their own.
        let lsn_sql = match (lsn, op) {
            (Some(lsn), _) => lsn.to_string(),
            (None, "r") => first_lsn.to_string(),
            (None, _) => format!("{first_lsn} + row_number() OVER ()"),
        };
        let key_pairs: Vec<String> = key_of(table).iter().map(|k| format!("'{k}', t.{k}")).collect();
        let events = self.psql(&format!(
            "SELECT json_build_object(
                 'kafka_topic', 'openlmis.{table}', 'kafka_partition', 0,
                 'kafka_offset', {offset} + row_number() OVER () - 1,
                 'kafka_key', json_build_object({})::text,
                 'kafka_ts', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
                 'op', '{op}', 'source_ts_ms', (extract(epoch FROM now()) * 1000)::bigint,
                 'lsn', {lsn_sql}, 'origin', '{origin}', 'before', {before}, 'after', {after})
             FROM {table} t WHERE {filter}",
            key_pairs.join(", ")
        ));
        let count = events.lines().count() as u64;
        if lsn.is_none() {
            self.next_lsn.set(first_lsn + count + 1);
        }
        if count > 0 {
            stack().clickhouse(&format!("INSERT INTO {raw_table} FORMAT JSONEachRow\n{events}"));
        }
    }
}

fn key_of(table: &str) -> &'static [&'static str] {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, k)| *k).unwrap_or_else(|| panic!("{table} is not a source table"))
}

fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A project directory with a copy of the repository's runner project (`dbt/`, without a previous
/// run's artifacts), so parallel tests never share dbt's target/ or packages.
/// The raw event tables exactly as `olmisctl clickhouse-init` defines them (its `--print-sql`), in
/// a database of this test's own. Only the events tables: the Kafka consumers and views are left
/// out, because the events come from [`Platform`], not from Kafka.
pub fn create_raw_tables(database: &str) {
    let s = stack();
    let allowlist: Vec<&str> = TABLES.iter().map(|(table, _)| *table).collect();
    let dir = tempfile::tempdir().unwrap();
    let output = s
        .olmisctl(dir.path())
        .env("SOURCE_PG_TABLE_ALLOWLIST", allowlist.join(","))
        .args(["clickhouse-init", "--print-sql"])
        .output()
        .unwrap();
    let sql = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "clickhouse-init --print-sql: {}", String::from_utf8_lossy(&output.stderr));
    s.clickhouse(&format!("CREATE DATABASE IF NOT EXISTS {database}"));
    let mut created = 0;
    for statement in sql.split(";\n") {
        let body: Vec<&str> = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
        let body = body.join("\n");
        if body.trim_start().starts_with("CREATE TABLE IF NOT EXISTS raw.events_") {
            s.clickhouse(&body.replacen("raw.events_", &format!("{database}.events_"), 1));
            created += 1;
        }
    }
    assert_eq!(created, TABLES.len(), "clickhouse-init defines an events table per source table:\n{sql}");
}

/// A passing test leaves nothing behind; a failing one keeps its databases for inspection.
impl Drop for Platform {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let s = stack();
        for database in [&self.raw, &self.curated, &format!("{}_staging", self.curated)] {
            s.clickhouse_quietly(&format!("DROP DATABASE IF EXISTS {database} SYNC"));
        }
        s.clickhouse_quietly(&format!("DROP NAMED COLLECTION IF EXISTS olmis_source_{}", self.curated));
        s.psql("postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.source_db));
    }
}
