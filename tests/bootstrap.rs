//! `bootstrap export|import|recover-slot` and `reconcile` against the real stack: PostgreSQL,
//! ClickHouse, and for slot recovery a PostgreSQL cluster of the test's own plus Kafka Connect with
//! Debezium. Each test works in its own database with its own schema names, so its raw tables
//! (`raw.events_<schema>_<table>`) are its own too.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use common::private_postgres::PrivatePostgres;
use common::*;

/// The raw landing of `tables` as `olmisctl clickhouse-init` builds it for topic prefix `prefix`
/// (events tables, Kafka consumers, views). On drop the consumers and views go (idle consumers
/// would load the shared server), and the events tables too unless the test failed.
struct Landing {
    ids: Vec<String>,
}

impl Landing {
    fn create(dir: &Path, prefix: &str, tables: &[&str]) -> Landing {
        let out = stack()
            .olmisctl(dir)
            .env("DEBEZIUM_TOPIC_PREFIX", prefix)
            .env("SOURCE_PG_TABLE_ALLOWLIST", tables.join(","))
            .arg("clickhouse-init")
            .output()
            .unwrap();
        assert!(out.status.success(), "clickhouse-init: {}\n{}", stdout(&out), stderr(&out));
        Landing { ids: tables.iter().map(|t| t.replace('.', "_")).collect() }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        for t in &self.ids {
            let mut doomed = vec![
                format!("raw.parsed_{t}_mv"),
                format!("raw.events_{t}_mv"),
                format!("raw.errors_{t}_mv"),
                format!("raw.kafka_{t}"),
                format!("raw.parsed_{t}"),
            ];
            if !std::thread::panicking() {
                doomed.push(format!("raw.events_{t}"));
            }
            for table in doomed {
                stack().clickhouse_quietly(&format!("DROP TABLE IF EXISTS {table} SYNC"));
            }
        }
    }
}

/// OpenLMIS-shaped tables in two schemas of the test's own naming: facilities (most column types
/// Debezium encodes specially), orderables (composite key) and stock card line items (the big
/// fact table).
fn seed_sql(r: &str, st: &str, line_items: u32) -> String {
    format!(
        "CREATE SCHEMA {r}; CREATE SCHEMA {st};
         CREATE TABLE {r}.facilities (id uuid PRIMARY KEY, code text NOT NULL UNIQUE, name text, active boolean,
           geographiczoneid uuid, golivedate date, comment text, extradata jsonb, latitude numeric(9,6),
           capacity double precision, tags text[], modifieddate timestamptz, legacyts timestamp, shortcode char(4));
         INSERT INTO {r}.facilities SELECT md5('f' || i)::uuid, 'F' || i, 'Facility ' || i || E' \"Z\"\\tx\\\\y',
           i % 3 <> 0, md5('z' || (i % 20))::uuid, DATE '2020-01-01' + i,
           CASE WHEN i % 5 = 0 THEN NULL ELSE E'line1\\nline2 ŵ' END, jsonb_build_object('k', i, 's', 'v\"'),
           (i * 0.001)::numeric(9,6), i * 1.5, ARRAY['a', 'b' || i], TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 minute 0.25 second',
           TIMESTAMP '1999-12-31 23:00:00' + i * INTERVAL '1 second', 'C' || (i % 10)
         FROM generate_series(1, 300) i;
         CREATE TABLE {r}.orderables (id uuid, versionnumber bigint, code text, fullproductname text,
           netcontent bigint, PRIMARY KEY (id, versionnumber));
         INSERT INTO {r}.orderables SELECT md5('o' || (i / 2))::uuid, i % 2 + 1, 'O' || i, 'Product ' || i, i
         FROM generate_series(1, 400) i;
         CREATE TABLE {st}.stock_card_line_items (id uuid PRIMARY KEY, stockcardid uuid, quantity int, reasonid uuid,
           occurreddate date, processeddate timestamptz, documentnumber text, extradata jsonb);
         INSERT INTO {st}.stock_card_line_items SELECT md5('l' || i)::uuid, md5('c' || (i % 116))::uuid, i % 97,
           CASE WHEN i % 4 = 0 THEN NULL ELSE md5('r' || (i % 7))::uuid END, DATE '2023-01-01' + (i % 730),
           TIMESTAMPTZ '2023-01-01 08:00:00+00' + i * INTERVAL '17 second', 'DOC-' || i, NULL
           FROM generate_series(1, {line_items}) i;"
    )
}

/// An OpenLMIS-shaped source ([`seed_sql`]) in a database of the stack's PostgreSQL.
struct Source {
    db: String,
    ref_schema: String,
    stock_schema: String,
}

impl Source {
    fn new(prefix: &str, line_items: u32) -> Source {
        let s = stack();
        let db = s.create_database(prefix);
        let tag = unique("s").to_lowercase();
        let source = Source { db, ref_schema: format!("{tag}_ref"), stock_schema: format!("{tag}_stock") };
        s.psql(&source.db, &seed_sql(&source.ref_schema, &source.stock_schema, line_items));
        source
    }

    fn facilities(&self) -> String {
        format!("{}.facilities", self.ref_schema)
    }

    fn orderables(&self) -> String {
        format!("{}.orderables", self.ref_schema)
    }

    fn line_items(&self) -> String {
        format!("{}.stock_card_line_items", self.stock_schema)
    }

    fn tables(&self) -> Vec<String> {
        vec![self.facilities(), self.orderables(), self.line_items()]
    }

    fn olmisctl(&self, dir: &Path) -> Command {
        let mut cmd = stack().olmisctl(dir);
        cmd.env("SOURCE_PG_DB", &self.db);
        cmd
    }

    fn sql(&self, sql: &str) -> String {
        stack().psql(&self.db, sql)
    }
}

fn events(table: &str) -> String {
    format!("raw.events_{}", table.replace('.', "_"))
}

fn ch_count(sql: &str) -> u64 {
    stack().clickhouse(sql).trim().parse().unwrap_or_else(|_| panic!("not a count: {sql}"))
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(output), stderr(output)))
}

#[test]
fn export_import_reconcile_and_import_again() {
    let src = Source::new("bs_roundtrip", 20_000);
    let tables = src.tables();
    let dir = tempfile::tempdir().unwrap();
    let list = tables.join(",");
    let _landing = Landing::create(
        dir.path(),
        &unique("bsp").to_lowercase(),
        &tables.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let out = src
        .olmisctl(dir.path())
        .args(["bootstrap", "export", "--tables", &list, "--to", "exp", "--chunk-rows", "6000", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["snapshot"]["consistency"], "locked");
    let rows: Vec<u64> = report["tables"].as_array().unwrap().iter().map(|t| t["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows, vec![300, 400, 20_000]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exp/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["tables"][2]["chunks"].as_array().unwrap().len(), 4, "20,000 rows in chunks of 6,000");
    assert_eq!(manifest["tables"][1]["primary_key"], serde_json::json!(["id", "versionnumber"]));

    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "exp"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("20,000 rows"), "{}", stdout(&out));
    for (table, n) in tables.iter().zip([300, 400, 20_000]) {
        assert_eq!(
            ch_count(&format!("SELECT count() FROM {} WHERE origin = 'bootstrap' AND op = 'r'", events(table))),
            n
        );
    }

    // Debezium's encodings, byte for byte as the connector writes them (see src/bootstrap/debezium.rs).
    let row = stack().clickhouse(&format!(
        "SELECT kafka_key, after FROM {} WHERE JSONExtractString(after, 'code') = 'F7' FORMAT TSVRaw",
        events(&src.facilities())
    ));
    let (key, after) = row.split_once('\t').unwrap();
    let id = src.sql("SELECT md5('f7')::uuid");
    assert_eq!(key, format!("{{\"id\":\"{id}\"}}"));
    let after: serde_json::Value = serde_json::from_str(after).unwrap();
    assert_eq!(after["golivedate"], 18_262 + 7, "date as days since 1970-01-01 (2020-01-01 is day 18,262)");
    assert_eq!(after["name"], "Facility 7 \"Z\"\tx\\y");
    assert_eq!(after["comment"], "line1\nline2 ŵ");
    assert_eq!(after["latitude"], "0.007000", "numeric as a string with its scale");
    assert_eq!(after["capacity"], 10.5);
    assert_eq!(after["tags"], serde_json::json!(["a", "b7"]));
    assert_eq!(after["modifieddate"], "2024-01-01T00:07:01.750000Z");
    assert_eq!(after["legacyts"], 946_681_207_000i64, "timestamp as epoch milliseconds");
    assert_eq!(after["shortcode"], "C7  ", "char(n) keeps its padding");
    assert_eq!(after["extradata"], "{\"k\": 7, \"s\": \"v\\\"\"}", "jsonb as PostgreSQL prints it, in a string");
    assert_eq!(after["active"], true);

    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &list, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["equal"], true);
    assert_eq!(report["tables"][2]["clickhouse"]["rows"], 20_000);

    // A second import of the same export adds nothing.
    let before = ch_count(&format!("SELECT count() FROM {}", events(&src.line_items())));
    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "exp", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert!(report["tables"].as_array().unwrap().iter().all(|t| t["rows_imported"] == 0), "{report}");
    assert_eq!(report["tables"][2]["chunks_already_imported"], 4);
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&src.line_items()))), before);
    assert_eq!(
        ch_count(&format!("SELECT count() - uniqExact(kafka_key) FROM {}", events(&src.line_items()))),
        0,
        "no duplicate events"
    );
    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &list]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("3 compared, all equal"), "{}", stdout(&out));
}

#[test]
fn reconcile_reports_divergence_and_a_new_export_resolves_it() {
    let src = Source::new("bs_diverge", 2_000);
    let tables = src.tables();
    let dir = tempfile::tempdir().unwrap();
    let list = tables.join(",");
    let _landing = Landing::create(
        dir.path(),
        &unique("bsp").to_lowercase(),
        &tables.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let ok = |args: &[&str]| {
        let out = src.olmisctl(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}\n{}", stdout(&out), stderr(&out));
        out
    };
    ok(&["bootstrap", "export", "--tables", &list, "--to", "one"]);
    ok(&["bootstrap", "import", "--from", "one"]);

    // Changes nobody captured: deletes, an update, an insert, and a composite-key row replaced.
    let li = src.line_items();
    src.sql(&format!(
        "DELETE FROM {li} WHERE quantity = 5; UPDATE {li} SET quantity = -1 WHERE quantity = 6;
         INSERT INTO {li} (id, quantity, occurreddate) VALUES (gen_random_uuid(), 1, DATE '2024-05-05');
         DELETE FROM {o} WHERE versionnumber = 2 AND code = 'O3'; INSERT INTO {o} VALUES (md5('o1')::uuid, 3, 'O1b', 'P', 1)",
        o = src.orderables()
    ));
    let deleted: u64 = 2_000 / 97 + 1;
    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &list, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "divergent is exit 1: {}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["equal"], false);
    let by_name = |name: &str| report["tables"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(by_name(&li)["status"], "rows_differ");
    assert_eq!(by_name(&li)["row_difference"], deleted as i64 - 1);
    assert_eq!(by_name(&src.orderables())["status"], "keys_differ", "one key replaced by another");
    assert_eq!(by_name(&src.facilities())["status"], "equal");
    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &list]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("same count, different keys"), "{}", stdout(&out));
    assert!(stdout(&out).contains("3 compared, 2 divergent"), "{}", stdout(&out));

    // A new export resolves it: newer rows win, and rows gone from the source get delete events.
    ok(&["bootstrap", "export", "--tables", &list, "--to", "two"]);
    let out = ok(&["bootstrap", "import", "--from", "two", "--json"]);
    let report = json(&out);
    let li_report = report["tables"].as_array().unwrap().iter().find(|t| t["table"] == li.as_str()).unwrap().clone();
    assert_eq!(li_report["implied_deletes"], deleted);
    ok(&["reconcile", "--tables", &list]);
    let updated = ch_count(&format!(
        "SELECT count() FROM (SELECT kafka_key, argMax(after, (lsn, kafka_offset)) AS a FROM {} GROUP BY kafka_key) \
         WHERE JSONExtractInt(a, 'quantity') = -1",
        events(&li)
    ));
    assert_eq!(updated, 2_000 / 97 + 1, "the update wins over the first export's rows");
    // Importing the second export again writes no further deletes.
    let report = json(&ok(&["bootstrap", "import", "--from", "two", "--json"]));
    assert!(report["tables"].as_array().unwrap().iter().all(|t| t["implied_deletes"] == 0), "{report}");
}

#[test]
fn date_range_import_then_full_import_adds_only_the_rest() {
    let src = Source::new("bs_range", 5_000);
    let li = src.line_items();
    let dir = tempfile::tempdir().unwrap();
    let _landing = Landing::create(dir.path(), &unique("bsp").to_lowercase(), &[li.as_str()]);
    let run = |args: &[&str]| src.olmisctl(dir.path()).args(args).output().unwrap();
    let out = run(&["bootstrap", "export", "--tables", &li, "--to", "exp", "--chunk-rows", "2000"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let in_range: u64 = src
        .sql(&format!("SELECT count(*) FROM {li} WHERE occurreddate >= '2023-03-01' AND occurreddate < '2023-04-01'"))
        .parse()
        .unwrap();
    let args = ["--date-column", "occurreddate", "--since", "2023-03-01", "--until", "2023-04-01"];
    let out = run(&[&["bootstrap", "import", "--from", "exp"][..], &args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), in_range);
    // The same range again: nothing new.
    let out = run(&[&["bootstrap", "import", "--from", "exp"][..], &args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), in_range);

    // On a timestamptz column too (processeddate advances 17 s per row).
    let tz_args = ["--date-column", "processeddate", "--since", "2023-01-02", "--until", "2023-01-03"];
    let out = run(&[&["bootstrap", "import", "--from", "exp", "--json"][..], &tz_args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let in_day = "processeddate >= '2023-01-02 00:00:00+00' AND processeddate < '2023-01-03 00:00:00+00'";
    let count_in_day: u64 = src.sql(&format!("SELECT count(*) FROM {li} WHERE {in_day}")).parse().unwrap();
    let report = json(&out);
    assert_eq!(report["tables"][0]["rows_imported"], count_in_day);
    // Rows in both ranges were replaced, not doubled.
    let either: u64 = src
        .sql(&format!(
            "SELECT count(*) FROM {li} WHERE ({in_day}) OR (occurreddate >= '2023-03-01' AND occurreddate < '2023-04-01')"
        ))
        .parse()
        .unwrap();
    assert!(count_in_day > 0 && either > count_in_day && either < 5_000);
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), either);
    assert_eq!(ch_count(&format!("SELECT uniqExact(kafka_key) FROM {}", events(&li))), either);

    // A full import replaces the partial rows chunk by chunk: no duplicates, everything there.
    let out = run(&["bootstrap", "import", "--from", "exp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), 5_000);
    assert_eq!(ch_count(&format!("SELECT uniqExact(kafka_key) FROM {}", events(&li))), 5_000);
    let out = run(&["reconcile", "--tables", &li]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A chunk bigger than one sorted run (32 MiB of lines) is exported as several runs and merged
/// back on import: ClickHouse receives it in its sort order and writes it without sorting.
#[test]
fn big_chunks_are_merged_from_sorted_runs() {
    let rows = 250_000u64;
    let src = Source::new("bs_runs", rows as u32);
    let li = src.line_items();
    let dir = tempfile::tempdir().unwrap();
    let _landing = Landing::create(dir.path(), &unique("bsp").to_lowercase(), &[li.as_str()]);
    let out = src.olmisctl(dir.path()).args(["bootstrap", "export", "--tables", &li, "--to", "exp"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exp/manifest.json")).unwrap()).unwrap();
    let chunks = manifest["tables"][0]["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0]["runs"].as_array().unwrap().len() >= 2, "{}", chunks[0]);

    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "exp"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), rows);
    assert_eq!(ch_count(&format!("SELECT uniqExact(kafka_offset) FROM {}", events(&li))), rows);
    stack().clickhouse("SYSTEM FLUSH LOGS");
    let sorted = ch_count(&format!(
        "SELECT sum(ProfileEvents['MergeTreeDataWriterBlocksAlreadySorted']) FROM system.query_log \
         WHERE type = 'QueryFinish' AND query_kind = 'Insert' AND has(tables, '{}') AND event_time > now() - 600",
        events(&li)
    ));
    assert!(sorted >= 1, "ClickHouse had to sort the merged chunk");
    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &li]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn interrupted_import_resumes_without_duplicates() {
    // Big enough (over 64 MiB) to be exported by two connections, each a range of the table's pages.
    let rows = 700_000u64;
    let src = Source::new("bs_resume", rows as u32);
    let li = src.line_items();
    let dir = tempfile::tempdir().unwrap();
    let _landing = Landing::create(dir.path(), &unique("bsp").to_lowercase(), &[li.as_str()]);
    let out = src
        .olmisctl(dir.path())
        .args(["bootstrap", "export", "--tables", &li, "--to", "exp", "--chunk-rows", "10000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exp/manifest.json")).unwrap()).unwrap();
    let chunks = manifest["tables"][0]["chunks"].as_array().unwrap().clone();
    assert_eq!(manifest["tables"][0]["rows"], rows);
    let offsets: Vec<(u64, u64)> =
        chunks.iter().map(|c| (c["first_offset"].as_u64().unwrap(), c["rows"].as_u64().unwrap())).collect();
    assert!(offsets.iter().all(|(_, n)| *n <= 10_000));
    assert!(chunks.len() > 70, "two readers each end with a partial chunk: {}", chunks.len());

    let mut import = StdCommand::new(assert_cmd::cargo::cargo_bin!("olmisctl"));
    import.env_clear().envs(&stack().env).env("PATH", std::env::var("PATH").unwrap_or_default());
    import.env("SOURCE_PG_DB", &src.db).current_dir(dir.path());
    import.args(["bootstrap", "import", "--from", "exp"]).stdout(std::process::Stdio::null());
    import.stderr(std::process::Stdio::null());
    let mut child = import.spawn().unwrap();
    let ledger = format!("SELECT count() FROM raw.bootstrap_imports WHERE source_table = '{li}'");
    let done_before_kill = eventually(60, "the first chunks to be imported", || {
        let n = ch_count(&ledger);
        (n >= 3).then_some(n)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        done_before_kill < chunks.len() as u64,
        "the import finished before it could be interrupted ({done_before_kill} chunks)"
    );
    let partial = ch_count(&format!("SELECT count() FROM {}", events(&li)));
    assert!(partial < rows, "{partial} rows after the kill");

    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "exp", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert!(report["tables"][0]["chunks_already_imported"].as_u64().unwrap() >= done_before_kill);
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), rows);
    assert_eq!(ch_count(&format!("SELECT uniqExact(kafka_offset) FROM {}", events(&li))), rows);

    // ClickHouse commits big inserts block by block, so a cut can leave part of a chunk behind
    // without its ledger row. Losing the ledger row of a finished chunk is that state; the next
    // import must replace that chunk's rows, not add to them.
    stack().clickhouse(&format!(
        "DELETE FROM raw.bootstrap_imports WHERE source_table = '{li}' AND chunk IN (5, 6) SETTINGS lightweight_deletes_sync = 2"
    ));
    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "exp", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["tables"][0]["leftover_rows_removed"], 20_000);
    assert_eq!(report["tables"][0]["rows_imported"], 20_000);
    assert_eq!(ch_count(&format!("SELECT count() FROM {}", events(&li))), rows);
    let out = src.olmisctl(dir.path()).args(["reconcile", "--tables", &li]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn the_snapshot_waits_for_writers_in_flight_and_ranks_after_them() {
    let src = Source::new("bs_inflight", 1_000);
    let li = src.line_items();
    let dir = tempfile::tempdir().unwrap();
    // A transaction that has written but not committed when the export starts.
    let url = stack().get("OLMIS_STACK_PG_ADMIN_URL").replacen("/postgres?", &format!("/{}?", src.db), 1);
    let mut writer = StdCommand::new(stack().bin("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    writeln!(stdin, "BEGIN; UPDATE {li} SET quantity = 4242 WHERE documentnumber = 'DOC-7';").unwrap();
    stdin.flush().unwrap();
    eventually(20, "the writer's update", || {
        let waiting = src.sql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'stock_card_line_items' AND l.mode = 'RowExclusiveLock' AND l.granted \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        (waiting == "1").then_some(())
    });
    let mut export = StdCommand::new(assert_cmd::cargo::cargo_bin!("olmisctl"));
    export.env_clear().envs(&stack().env).env("PATH", std::env::var("PATH").unwrap_or_default());
    export.env("SOURCE_PG_DB", &src.db).env("NO_COLOR", "1").current_dir(dir.path());
    let export = export
        .args(["bootstrap", "export", "--tables", &li, "--to", "exp", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(!dir.path().join("exp").exists(), "the export must wait for the writer");
    writeln!(stdin, "COMMIT;").unwrap();
    drop(stdin);
    writer.wait().unwrap();
    let out = export.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["snapshot"]["consistency"], "locked");
    let lines = StdCommand::new("sh")
        .arg("-c")
        .arg(format!("zstdcat {}/exp/{li}/*.zst | grep -c '\"quantity\":4242'", dir.path().display()))
        .output()
        .unwrap();
    assert_eq!(stdout(&lines).trim(), "1", "the committed update is in the snapshot");
}

#[test]
fn without_lock_privilege_the_export_says_so() {
    let src = Source::new("bs_readonly", 100);
    let role = unique("bsro").to_lowercase();
    let password = unique("pw");
    src.sql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD '{password}'; GRANT USAGE ON SCHEMA {r}, {s} TO {role}; \
         GRANT SELECT ON ALL TABLES IN SCHEMA {r} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {role}",
        r = src.ref_schema,
        s = src.stock_schema
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = src
        .olmisctl(dir.path())
        .env("SOURCE_PG_USER", &role)
        .env("SOURCE_PG_PASSWORD", &password)
        .args(["bootstrap", "export", "--tables", &src.facilities(), "--to", "exp", "--json"])
        .output()
        .unwrap();
    src.sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["snapshot"]["consistency"], "unlocked");
    assert!(stderr(&out).contains("cannot lock the exported tables"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&password));
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = stack();
    let out = s.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("manifest.json: cannot read"), "{}", stderr(&out));

    let out = s.olmisctl(dir.path()).args(["bootstrap", "import", "--since", "2024-01-01"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since/--until need --date-column"), "{}", stderr(&out));

    let out = s.olmisctl(dir.path()).args(["bootstrap", "export", "--tables", "facilities"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"facilities\" is not a schema.table name"), "{}", stderr(&out));

    let src = Source::new("bs_errors", 10);
    let out = src
        .olmisctl(dir.path())
        .args(["bootstrap", "export", "--tables", "nosuch.table", "--to", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch.table"), "{}", stderr(&out));
    assert!(!dir.path().join("x").exists(), "a failed export leaves nothing behind");

    // Importing into a ClickHouse without the raw landing names the fix.
    let li = src.line_items();
    let out = src.olmisctl(dir.path()).args(["bootstrap", "export", "--tables", &li, "--to", "x"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = src.olmisctl(dir.path()).args(["bootstrap", "import", "--from", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("olmisctl clickhouse-init"), "{}", stderr(&out));
    let out = src
        .olmisctl(dir.path())
        .args(["bootstrap", "import", "--from", "x", "--date-column", "quantity", "--since", "2024-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a date, timestamp or timestamptz"), "{}", stderr(&out));
}

/// The full raw landing (`clickhouse-init --print-sql` for the core package's topics under
/// `prefix`) built in a database of the test's own instead of the shared `raw`, where the core's
/// table names (`events_referencedata_facilities`, ...) would collide with other tests; dbt reads
/// it through `CLICKHOUSE_RAW_DATABASE`. Dropped on drop with the curated databases dbt built.
struct PrivateLanding {
    databases: Vec<String>,
}

impl PrivateLanding {
    fn create(dir: &Path, prefix: &str, raw: &str, curated: &str) -> PrivateLanding {
        let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
        let out = stack()
            .olmisctl(dir)
            .env("DEBEZIUM_TOPIC_PREFIX", prefix)
            .env("ANALYTICS_CORE_PATH", &core)
            .args(["clickhouse-init", "--print-sql"])
            .output()
            .unwrap();
        assert!(out.status.success(), "clickhouse-init --print-sql: {}", stderr(&out));
        let landing = PrivateLanding { databases: vec![raw.into(), curated.into(), format!("{curated}_staging")] };
        for statement in stdout(&out).split(";\n") {
            let body: Vec<&str> = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
            let body = body.join("\n");
            if body.trim().is_empty() || body.contains("CREATE DATABASE IF NOT EXISTS curated") {
                continue;
            }
            stack()
                .clickhouse(&body.replace("raw.", &format!("{raw}.")).replace("EXISTS raw", &format!("EXISTS {raw}")));
        }
        landing
    }
}

impl Drop for PrivateLanding {
    fn drop(&mut self) {
        for database in &self.databases {
            stack().clickhouse_quietly(&format!("DROP DATABASE IF EXISTS {database} SYNC"));
        }
    }
}

/// The marts the core package declares as mirrors of source tables (`olmis_reconcile` tests in
/// its dbt YAML) are compared with the source on the demo data: all equal after export, import and
/// dbt build; then a facility and a line item without a reason, added in PostgreSQL only, show in
/// the mart mirroring facilities but not in the one mirroring line items with a reason.
#[test]
fn reconcile_compares_the_marts_the_packages_declare() {
    let db = stack().create_database("bsmart");
    let name = unique("bsmart").to_lowercase();
    let (raw, curated) = (format!("{name}_raw"), format!("{name}_curated"));
    let project = project_with_runner();
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
    let olmisctl = |args: &[&str]| {
        let mut cmd = stack().olmisctl(project.path());
        cmd.env("SOURCE_PG_DB", &db).env("ANALYTICS_CORE_PATH", &core).env("DEBEZIUM_TOPIC_PREFIX", &name);
        cmd.env("CLICKHOUSE_RAW_DATABASE", &raw).env("CLICKHOUSE_CURATED_DATABASE", &curated);
        cmd.env("DBT_AS_OF_DATE", "2026-10-31");
        cmd.args(args).timeout(std::time::Duration::from_secs(900));
        cmd.output().unwrap()
    };
    let ok = |args: &[&str]| succeeded(&format!("olmisctl {args:?}"), olmisctl(args));
    ok(&["demo", "seed"]);
    let _landing = PrivateLanding::create(project.path(), &name, &raw, &curated);
    ok(&["bootstrap", "export", "--to", "exp"]);
    ok(&["bootstrap", "import", "--from", "exp"]);
    ok(&["dbt-build"]);

    let marts = |report: &serde_json::Value| -> Vec<(String, String, i64)> {
        report["marts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let short = m["name"].as_str().unwrap().strip_prefix(&format!("{curated}.")).unwrap().to_string();
                (short, m["status"].as_str().unwrap().to_string(), m["row_difference"].as_i64().unwrap())
            })
            .collect()
    };
    let out = olmisctl(&["reconcile", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let equal = |mart: &str| (mart.to_string(), "equal".to_string(), 0);
    assert_eq!(
        marts(&report),
        [
            "mart_adjustments",
            "mart_consumption",
            "mart_facility_directory",
            "mart_requisition_summary",
            "mart_stock_on_hand",
            "mart_stock_status"
        ]
        .map(equal)
    );
    let sources: Vec<&str> =
        report["marts"].as_array().unwrap().iter().map(|m| m["source"].as_str().unwrap()).collect();
    assert_eq!(sources[0], "stockmanagement.stock_card_line_items by id where reasonid IS NOT NULL");
    assert_eq!(sources[5], "stockmanagement.stock_cards by distinct facilityid, programid, orderableid");
    assert_eq!(report["skipped"], serde_json::json!([]), "staging models are not marts");

    stack().psql(
        &db,
        "INSERT INTO referencedata.facilities SELECT (jsonb_populate_record(f, jsonb_build_object('id', md5('new')::uuid, \
         'code', 'F-NEW'))).* FROM referencedata.facilities f LIMIT 1;
         INSERT INTO stockmanagement.stock_card_line_items SELECT (jsonb_populate_record(l, jsonb_build_object('id', \
         md5('new')::uuid, 'reasonid', NULL))).* FROM stockmanagement.stock_card_line_items l LIMIT 1",
    );
    let out = olmisctl(&["reconcile", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let found = marts(&report);
    assert_eq!(found[0], equal("mart_adjustments"), "outside the mart's filter");
    assert_eq!(found[2], ("mart_facility_directory".into(), "rows_differ".into(), -1));
    let human = stdout(&olmisctl(&["reconcile"]));
    assert!(human.contains(&format!("{curated}.mart_facility_directory")), "{human}");
    assert!(human.contains("(from referencedata.facilities by id)"), "{human}");
}

/// Rows of the table's current state in ClickHouse (the BRIEF's rule), keyed by `id`, with `after`.
fn current_state(events: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let rows = stack().clickhouse(&format!(
        "SELECT JSONExtractString(row, 'id'), row FROM (SELECT argMax(if(op = 'd', before, after), (lsn, kafka_offset)) AS row, \
         argMax(op, (lsn, kafka_offset)) AS last_op FROM {events} GROUP BY JSONExtractString(if(op = 'd', before, after), 'id')) \
         WHERE last_op != 'd' FORMAT TSVRaw"
    ));
    rows.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, row)| (id.to_string(), serde_json::from_str(row).unwrap()))
        .collect()
}

/// The whole pipeline on the demo data, in a PostgreSQL cluster of the test's own, a connector,
/// topics and raw and curated databases of its own: the slot is invalidated for real during an
/// outage, `recover-slot --yes` rebuilds capture, and the changes made meanwhile reach the marts.
#[test]
fn recover_slot_after_the_slot_is_invalidated_for_real() {
    // A cluster of the test's own: a small max_slot_wal_keep_size on the shared server would be
    // server-wide and break other tests' slots. 1 MB WAL segments let a few megabytes of writes
    // outrun the slot.
    let pg = PrivatePostgres::init("olmis-bootstrap-pg", &["--wal-segsize=1"]);
    pg.configure(
        "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\nmax_slot_wal_keep_size = '3MB'\n\
         wal_keep_size = 0\nmin_wal_size = '2MB'\nmax_wal_size = '4MB'\n",
        "host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n",
    );
    pg.start();
    let db = "open_lmis";
    pg.psql("postgres", &format!("CREATE DATABASE {db}"));
    let name = unique("bsrec").to_lowercase();
    let (raw, curated) = (format!("{name}_raw"), format!("{name}_curated"));
    let project = project_with_runner();
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
    let olmisctl = |args: &[&str]| {
        let mut cmd = stack().olmisctl(project.path());
        let port = pg.port.to_string();
        cmd.env("SOURCE_PG_HOST", "127.0.0.1").env("SOURCE_PG_PORT", &port).env("SOURCE_PG_DB", db);
        cmd.env("SOURCE_PG_USER", "postgres").env("SOURCE_PG_PASSWORD", &pg.password);
        cmd.env("SOURCE_PG_CONNECT_HOST", "127.0.0.1").env("SOURCE_PG_CONNECT_PORT", &port);
        cmd.env("SOURCE_PG_SLOT_NAME", &name).env("SOURCE_PG_PUBLICATION", &name);
        cmd.env("DEBEZIUM_TOPIC_PREFIX", &name).env("CONNECTOR_NAME", &name);
        cmd.env("DEBEZIUM_HEARTBEAT_INTERVAL_MS", "1000").env("ANALYTICS_CORE_PATH", &core);
        cmd.env("CLICKHOUSE_RAW_DATABASE", &raw).env("CLICKHOUSE_CURATED_DATABASE", &curated);
        cmd.args(args).timeout(std::time::Duration::from_secs(900));
        cmd.output().unwrap()
    };
    let ok = |args: &[&str]| succeeded(&format!("olmisctl {args:?}"), olmisctl(args));
    ok(&["demo", "seed"]);
    let _connector = ConnectorGuard(name.clone());
    let _landing = PrivateLanding::create(project.path(), &name, &raw, &curated);

    // The pipeline as it normally runs: Debezium's snapshot, landed by ClickHouse's Kafka engine.
    ok(&["register-connector", "--yes"]);
    eventually(300, "Debezium's snapshot to land (reconcile equal)", || {
        olmisctl(&["reconcile"]).status.success().then_some(())
    });

    // The outage: the connector stops reading, the source keeps changing, and more WAL is written
    // than max_slot_wal_keep_size lets the slot hold, so PostgreSQL invalidates it.
    let stop = format!("{}/connectors/{name}/stop", stack().get("CONNECT_URL"));
    assert!(StdCommand::new("curl").args(["-sS", "-f", "-X", "PUT", &stop]).status().unwrap().success());
    let slot_state =
        |column: &str| pg.psql(db, &format!("SELECT {column} FROM pg_replication_slots WHERE slot_name = '{name}'"));
    eventually(60, "the slot to be released", || (slot_state("active") == "f").then_some(()));
    let renamed = pg.psql(db, "SELECT min(code) FROM referencedata.facilities");
    let gone: Vec<String> = pg
        .psql(db, "SELECT id FROM stockmanagement.stock_card_line_items ORDER BY id LIMIT 5")
        .lines()
        .map(String::from)
        .collect();
    pg.psql(
        db,
        &format!(
            "UPDATE referencedata.facilities SET name = 'Renamed during the outage' WHERE code = '{renamed}';
             INSERT INTO referencedata.facilities SELECT (jsonb_populate_record(f, jsonb_build_object('id', md5('outage')::uuid,
               'code', 'F-OUTAGE', 'name', 'New during the outage'))).* FROM referencedata.facilities f LIMIT 1;
             DELETE FROM stockmanagement.stock_card_line_items WHERE id IN ('{}');",
            gone.join("','")
        ),
    );
    eventually(120, "the slot to be invalidated", || {
        pg.psql(db, "CREATE TABLE IF NOT EXISTS wal_filler (x text); INSERT INTO wal_filler SELECT repeat('x', 2000) FROM generate_series(1, 2000); DELETE FROM wal_filler");
        pg.psql(db, "SELECT pg_switch_wal()");
        pg.psql(db, "CHECKPOINT");
        (slot_state("wal_status") == "lost").then_some(())
    });

    // Without a terminal and without --yes: a clear error, and nothing changes.
    let out = olmisctl(&["bootstrap", "recover-slot", "--dir", "rec"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(slot_state("wal_status"), "lost");

    let out = ok(&["bootstrap", "recover-slot", "--yes", "--dir", "rec", "--timeout", "300"]);
    assert!(stdout(&out).contains("Replication slot recovered"), "{}", stdout(&out));

    // The changes made during the outage are in the raw layer's current state and in the marts
    // dbt rebuilt, and PostgreSQL and ClickHouse agree.
    let facilities = format!("{raw}.events_referencedata_facilities");
    let state = current_state(&facilities);
    let renamed_id = pg.psql(db, &format!("SELECT id FROM referencedata.facilities WHERE code = '{renamed}'"));
    assert_eq!(state[&renamed_id]["name"], "Renamed during the outage");
    assert_eq!(state[&pg.psql(db, "SELECT md5('outage')::uuid")]["code"], "F-OUTAGE");
    let items = current_state(&format!("{raw}.events_stockmanagement_stock_card_line_items"));
    assert!(gone.iter().all(|id| !items.contains_key(id)), "rows deleted during the outage are gone");
    let mart = stack().clickhouse(&format!(
        "SELECT facility_code, facility_name FROM {curated}.mart_facility_directory \
         WHERE facility_code IN ('{renamed}', 'F-OUTAGE')"
    ));
    assert!(mart.contains(&format!("{renamed}\tRenamed during the outage")), "{mart}");
    assert!(mart.contains("F-OUTAGE\tNew during the outage"), "{mart}");
    let out = olmisctl(&["reconcile", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let marts: Vec<String> =
        json(&out)["marts"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    assert!(marts.contains(&format!("{curated}.mart_facility_directory")), "{marts:?}");
    assert_eq!(json(&out)["tables"].as_array().unwrap().len(), 26, "the core package's tables");

    // Streaming resumes from the new slot (the marts catch up at the next dbt build).
    assert_eq!(slot_state("wal_status"), "reserved");
    let status = format!("{}/connectors/{name}/status", stack().get("CONNECT_URL"));
    eventually(60, "the connector to read the new slot", || (slot_state("active") == "t").then_some(()));
    let connector = StdCommand::new("curl").args(["-sS", &status]).output().unwrap();
    assert!(!stdout(&connector).contains("FAILED"), "{}", stdout(&connector));
    pg.psql(
        db,
        "INSERT INTO referencedata.facilities SELECT (jsonb_populate_record(f, jsonb_build_object('id', md5('after')::uuid, \
         'code', 'F-AFTER', 'name', 'After the recovery'))).* FROM referencedata.facilities f LIMIT 1",
    );
    let after = pg.psql(db, "SELECT md5('after')::uuid");
    eventually(120, "a change after the recovery to stream into ClickHouse", || {
        let sql = format!(
            "SELECT count() FROM {facilities} WHERE origin = 'cdc' AND JSONExtractString(after, 'id') = '{after}'"
        );
        (ch_count(&sql) == 1).then_some(())
    });

    // Every step is in the audit log, and a second run finds nothing to do.
    let audit = std::fs::read_to_string(project.path().join("rec/audit.jsonl")).unwrap();
    for step in [
        "delete-connector",
        "drop-slot",
        "create-slot",
        "export",
        "import",
        "register-connector",
        "wait-streaming",
        "dbt-build",
        "reconcile",
    ] {
        assert!(
            audit.contains(&format!("\"step\":\"{step}\",\"event\":\"finished\"")),
            "{step} not finished in:\n{audit}"
        );
    }
    let out = ok(&["bootstrap", "recover-slot", "--yes", "--dir", "rec"]);
    assert!(stdout(&out).contains("nothing to recover"), "{}", stdout(&out));
}
