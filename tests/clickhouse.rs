//! The raw landing on the real stack: Kafka topics fed with Debezium-shaped events by kcat,
//! `olmisctl clickhouse-init` building the landing in the stack's ClickHouse, and the rows checked
//! over ClickHouse's HTTP interface (curl), not through olmisctl.
//!
//! Isolation: each test gets its own topic prefix and its own source schema name, so its topic
//! and its `raw.*_<schema>_<table>` objects are its own; `raw.errors` is shared and read per topic.
//! One test lands in a raw database of its own (CLICKHOUSE_RAW_DATABASE).

mod common;

use std::io::Write;
use std::process::{Command as StdCommand, Stdio};
use std::sync::RwLock;

use common::*;
use serde_json::{Value, json};

/// The restart test stops ClickHouse: it takes this lock for writing, every other test for reading.
static SERVER: RwLock<()> = RwLock::new(());

fn shared_server() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(|e| e.into_inner())
}

/// One test's topic, source table and project directory.
struct Lane {
    /// The raw database (CLICKHOUSE_RAW_DATABASE): `raw`, or one of the test's own.
    raw: String,
    prefix: String,
    schema: String,
    table: String,
    dir: tempfile::TempDir,
}

impl Lane {
    fn new(table: &str) -> Lane {
        Lane::in_database(table, "raw")
    }

    fn in_database(table: &str, raw: &str) -> Lane {
        Lane {
            raw: raw.to_string(),
            prefix: unique("chtest").to_lowercase(),
            schema: unique("s").to_lowercase(),
            table: table.to_string(),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn topic(&self) -> String {
        format!("{}.{}.{}", self.prefix, self.schema, self.table)
    }

    fn id(&self) -> String {
        format!("{}_{}", self.schema, self.table)
    }

    fn events_table(&self) -> String {
        format!("{}.events_{}", self.raw, self.id())
    }

    fn create_topic(&self) {
        let output = StdCommand::new(stack().bin("kafka-topics"))
            .args(["--bootstrap-server", stack().get("KAFKA_BOOTSTRAP_SERVERS"), "--create", "--topic"])
            .arg(self.topic())
            .args(["--partitions", "1", "--replication-factor", "1"])
            .output()
            .expect("kafka-topics runs");
        assert!(output.status.success(), "kafka-topics --create failed: {}", stderr(&output));
    }

    /// Produces (key, value) messages in order; a `None` value is a tombstone (null value).
    fn produce(&self, messages: &[(String, Option<String>)]) {
        let mut input = String::new();
        for (key, value) in messages {
            assert!(!key.contains('\t') && value.as_deref().is_none_or(|v| !v.contains(['\t', '\n'])));
            input.push_str(&format!("{key}\t{}\n", value.as_deref().unwrap_or("")));
        }
        let mut child = StdCommand::new(stack().bin("kcat"))
            .args(["-P", "-b", stack().get("KAFKA_BOOTSTRAP_SERVERS"), "-t"])
            .arg(self.topic())
            // -K: key and value split at the tab; -Z: an empty value is sent as null (a tombstone)
            .args(["-K", "\t", "-Z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kcat runs");
        child.stdin.take().expect("stdin is piped").write_all(input.as_bytes()).expect("kcat reads stdin");
        let output = child.wait_with_output().expect("kcat finishes");
        assert!(output.status.success(), "kcat failed: {}", stderr(&output));
    }

    fn olmisctl(&self) -> Command {
        let mut cmd = stack().olmisctl(self.dir.path());
        cmd.env("DEBEZIUM_TOPIC_PREFIX", &self.prefix)
            .env("SOURCE_PG_TABLE_ALLOWLIST", format!("{}.{}", self.schema, self.table))
            .env("CLICKHOUSE_RAW_DATABASE", &self.raw);
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.olmisctl().args(args).output().expect("olmisctl runs")
    }

    fn count(&self) -> u64 {
        stack().clickhouse(&format!("SELECT count() FROM {}", self.events_table())).parse().expect("a count")
    }

    fn wait_for_events(&self, n: u64) {
        eventually(60, &format!("{n} events in {}", self.events_table()), || (self.count() >= n).then_some(()));
        // Nothing more may come: a duplicate would land in the same flush.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(self.count(), n, "{} has more events than were produced", self.events_table());
    }

    /// Offsets of the landed events, in order.
    fn offsets(&self) -> Vec<i64> {
        let text =
            stack().clickhouse(&format!("SELECT kafka_offset FROM {} ORDER BY kafka_offset", self.events_table()));
        text.lines().map(|l| l.parse().expect("an offset")).collect()
    }

    fn errors(&self) -> Vec<(i64, String, String)> {
        let text = stack().clickhouse(&format!(
            "SELECT kafka_offset, error, raw_message FROM {}.errors WHERE kafka_topic = '{}' ORDER BY kafka_offset FORMAT JSONEachRow",
            self.raw,
            self.topic()
        ));
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a JSON row");
                (
                    int(&v["kafka_offset"]),
                    v["error"].as_str().expect("error").to_string(),
                    v["raw_message"].as_str().expect("raw_message").to_string(),
                )
            })
            .collect()
    }

    /// A Debezium change event as the PostgreSQL connector writes it (JsonConverter, no schemas).
    fn event(&self, op: &str, before: Option<Value>, after: Option<Value>, lsn: u64) -> String {
        json!({
            "before": before,
            "after": after,
            "source": {
                "version": "3.4.2.Final", "connector": "postgresql", "name": self.prefix,
                "ts_ms": 1_767_225_600_000_i64 + lsn as i64, "snapshot": if op == "r" { "true" } else { "false" },
                "db": "open_lmis", "sequence": null, "schema": self.schema, "table": self.table,
                "txId": 700 + lsn, "lsn": lsn, "xmin": null
            },
            "op": op,
            "ts_ms": 1_767_225_600_100_i64 + lsn as i64,
            "transaction": null
        })
        .to_string()
    }
}

/// A JSON integer, whether the server quotes 64-bit integers or not.
fn int(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Tests leave no Kafka consumers behind: dozens of idle ones would slow the shared server's
/// consumer pool for everybody. A failed test keeps its events table and topic for inspection.
impl Drop for Lane {
    fn drop(&mut self) {
        let (t, raw) = (self.id(), &self.raw);
        let mut doomed = vec![
            format!("TABLE IF EXISTS {raw}.parsed_{t}_mv"),
            format!("TABLE IF EXISTS {raw}.events_{t}_mv"),
            format!("TABLE IF EXISTS {raw}.errors_{t}_mv"),
            format!("TABLE IF EXISTS {raw}.kafka_{t}"),
            format!("TABLE IF EXISTS {raw}.parsed_{t}"),
        ];
        if !std::thread::panicking() {
            doomed.push(format!("TABLE IF EXISTS {}", self.events_table()));
            if raw != "raw" {
                doomed.push(format!("DATABASE IF EXISTS {raw}"));
            }
            let _ = StdCommand::new(stack().bin("kafka-topics"))
                .args(["--bootstrap-server", stack().get("KAFKA_BOOTSTRAP_SERVERS"), "--delete", "--topic"])
                .arg(self.topic())
                .output();
        }
        for object in doomed {
            stack().clickhouse_quietly(&format!("DROP {object} SYNC"));
        }
    }
}

fn key(id: &str) -> String {
    json!({ "id": id }).to_string()
}

fn json_stdout(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", stdout(output), stderr(output)))
}

fn code(output: &std::process::Output) -> i32 {
    output.status.code().expect("exited")
}

#[test]
fn every_event_lands_once_with_its_metadata() {
    let _server = shared_server();
    let lane = Lane::new("facilities");
    lane.create_topic();
    let a = json!({"id": "a1", "code": "HC01", "name": "Comfort Health Clinic", "active": true});
    let a2 = json!({"id": "a1", "code": "HC01", "name": "Comfort Clinic", "active": true});
    let b = json!({"id": "b2", "code": "HC02", "name": "Nandumbo", "active": false});
    lane.produce(&[
        (key("a1"), Some(lane.event("r", None, Some(a.clone()), 100))),
        (key("b2"), Some(lane.event("c", None, Some(b.clone()), 200))),
        (key("a1"), Some(lane.event("u", Some(a.clone()), Some(a2.clone()), 300))),
        (key("b2"), Some(lane.event("d", Some(b.clone()), None, 400))),
        (key("b2"), None),
    ]);

    let output = lane.run(&["clickhouse-init", "--json"]);
    assert_eq!(code(&output), 0, "{}\n{}", stdout(&output), stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["topics"][0]["topic"], lane.topic());
    assert_eq!(report["topics"][0]["table"], lane.events_table());
    assert_eq!(report["topics"][0]["consumer_group"], format!("clickhouse.raw.{}", lane.topic()));
    assert_eq!(report["summary"]["drifted"], 0);

    lane.wait_for_events(4);
    let rows = stack().clickhouse(&format!(
        "SELECT kafka_topic, kafka_partition, kafka_offset, kafka_key, op, source_ts_ms, lsn, origin, before, after, \
         kafka_ts > now64(3) - INTERVAL 10 MINUTE, ingested_at >= kafka_ts \
         FROM {} ORDER BY kafka_offset FORMAT JSONCompactEachRow",
        lane.events_table()
    ));
    let rows: Vec<Value> = rows.lines().map(|l| serde_json::from_str(l).expect("a JSON row")).collect();
    let expected = [
        (0, "a1", "r", 100, Value::Null, a.clone()),
        (1, "b2", "c", 200, Value::Null, b.clone()),
        (2, "a1", "u", 300, a.clone(), a2.clone()),
        (3, "b2", "d", 400, b.clone(), Value::Null),
    ];
    assert_eq!(rows.len(), expected.len(), "the tombstone (offset 4) must not land: {rows:?}");
    for (row, (offset, id, op, lsn, before, after)) in rows.iter().zip(expected) {
        let image = |v: &Value| match v.as_str() {
            Some("") => Value::Null,
            Some(text) => serde_json::from_str(text).expect("JSON text"),
            None => panic!("not a string: {v}"),
        };
        assert_eq!(row[0], lane.topic());
        assert_eq!(int(&row[1]), 0);
        assert_eq!(int(&row[2]), offset, "{row}");
        assert_eq!(serde_json::from_str::<Value>(row[3].as_str().unwrap()).unwrap(), json!({"id": id}));
        assert_eq!(row[4], op);
        assert_eq!(int(&row[5]), 1_767_225_600_000 + lsn);
        assert_eq!(int(&row[6]), lsn);
        assert_eq!(row[7], "cdc");
        assert_eq!(image(&row[8]), before, "before of {op}");
        assert_eq!(image(&row[9]), after, "after of {op}");
        assert_eq!((int(&row[10]), int(&row[11])), (1, 1), "kafka_ts and ingested_at of {row}");
    }
    assert!(lane.errors().is_empty(), "a tombstone is not an error: {:?}", lane.errors());

    // The landing keeps consuming after init.
    lane.produce(&[(key("c3"), Some(lane.event("c", None, Some(json!({"id": "c3"})), 500)))]);
    lane.wait_for_events(5);
    assert_eq!(lane.offsets(), [0, 1, 2, 3, 5]);

    let output = lane.run(&["verify", "ingestion", "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json_stdout(&output);
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == lane.topic()).unwrap().clone();
    assert_eq!(check["level"], "pass", "{check}");
    assert!(check["message"].as_str().unwrap().starts_with("5 events, newest "), "{check}");
}

#[test]
fn a_raw_database_of_its_own_holds_the_whole_landing() {
    let _server = shared_server();
    let lane = Lane::in_database("facilities", &unique("rawdb").to_lowercase());
    lane.create_topic();
    lane.produce(&[(key("a1"), Some(lane.event("c", None, Some(json!({"id": "a1"})), 100)))]);

    let output = lane.run(&["clickhouse-init", "--json"]);
    assert_eq!(code(&output), 0, "{}\n{}", stdout(&output), stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["topics"][0]["table"], lane.events_table());
    assert_eq!(report["topics"][0]["consumer_group"], format!("clickhouse.{}.{}", lane.raw, lane.topic()));
    lane.wait_for_events(1);
    let tables = stack().clickhouse(&format!(
        "SELECT name FROM system.tables WHERE database = '{}' AND name LIKE '%{}%' ORDER BY name",
        lane.raw,
        lane.id()
    ));
    let t = lane.id();
    let expected = [
        format!("errors_{t}_mv"),
        format!("events_{t}"),
        format!("events_{t}_mv"),
        format!("kafka_{t}"),
        format!("parsed_{t}"),
        format!("parsed_{t}_mv"),
    ];
    assert_eq!(tables.lines().collect::<Vec<_>>(), expected, "the topic's six objects in {}", lane.raw);
    assert_eq!(stack().clickhouse(&format!("EXISTS TABLE {}.errors", lane.raw)), "1");
    assert_eq!(
        stack().clickhouse(&format!("SELECT count() FROM system.tables WHERE database = 'raw' AND name LIKE '%{t}%'")),
        "0",
        "nothing of it in the default raw database"
    );

    let output = lane.run(&["verify", "ingestion", "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json_stdout(&output);
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, [format!("{}.errors", lane.raw), lane.topic()]);
    assert!(report["checks"][1]["message"].as_str().unwrap().starts_with("1 event, newest "), "{report:#}");

    let again = json_stdout(&lane.run(&["clickhouse-init", "--json"]));
    assert_eq!(again["summary"]["unchanged"], 9, "{again:#}");
    assert_eq!(again["summary"]["created"], 0, "{again:#}");
}

#[test]
fn bad_messages_land_in_raw_errors_while_good_ones_keep_flowing() {
    let _server = shared_server();
    let lane = Lane::new("requisitions");
    lane.create_topic();
    let good = |n: u64| (key(&format!("g{n}")), Some(lane.event("c", None, Some(json!({"id": format!("g{n}")})), n)));
    let wrapped = json!({"schema": {"type": "struct"}, "payload": {"op": "c"}}).to_string();
    let unknown_op = lane.event("t", None, None, 7);
    let delete_without_before = lane.event("d", None, None, 9);
    lane.produce(&[
        good(1),
        (key("x"), Some("this is not JSON".into())),
        good(3),
        (key("x"), Some(wrapped.clone())),
        good(5),
        (key("x"), Some(unknown_op.clone())),
        (key("x"), Some("{\"op\": \"c\", \"after\": {\"id\": 1}".into())),
        (key("x"), Some(delete_without_before.clone())),
        good(9),
    ]);
    let output = lane.run(&["clickhouse-init"]);
    assert_eq!(code(&output), 0, "{}\n{}", stdout(&output), stderr(&output));

    lane.wait_for_events(4);
    assert_eq!(lane.offsets(), [0, 2, 4, 8]);
    let errors = eventually(30, "5 rows in raw.errors", || Some(lane.errors()).filter(|e| e.len() >= 5));
    let summary: Vec<(i64, &str)> = errors.iter().map(|(o, e, _)| (*o, e.as_str())).collect();
    assert_eq!(
        summary,
        [
            (1, "not valid JSON"),
            (3, "envelope wrapped in schema/payload: the connector must use schemas.enable=false"),
            (5, "unsupported op \"t\""),
            (6, "not valid JSON"),
            (7, "delete without a before image"),
        ]
    );
    assert_eq!(errors[0].2, "this is not JSON", "the raw message is kept verbatim");
    assert_eq!(errors[1].2, wrapped);
    assert_eq!(errors[2].2, unknown_op);

    // Good messages after bad ones still land; a message holding no object is an error too.
    lane.produce(&[good(11), (key("x"), Some("[]".into())), good(13)]);
    lane.wait_for_events(6);
    eventually(30, "6 rows in raw.errors", || (lane.errors().len() == 6).then_some(()));

    let output = lane.run(&["verify", "ingestion"]);
    assert_eq!(code(&output), 0, "warnings do not fail: {}", stdout(&output));
    let text = stdout(&output);
    let line = text.lines().find(|l| l.contains(&lane.topic())).expect("a line for the topic");
    assert!(line.starts_with("  WARN "), "{text}");
    assert!(line.contains("6 messages in raw.errors (newest: not a JSON object)"), "{text}");
}

#[test]
fn rerunning_init_changes_nothing_and_migrate_keeps_rows_and_offsets() {
    let _server = shared_server();
    let lane = Lane::new("stock_cards");
    lane.create_topic();
    let mut produced = 0u64;
    let mut produce = |n: u64| {
        let messages: Vec<_> = (produced..produced + n)
            .map(|i| (key(&format!("k{i}")), Some(lane.event("c", None, Some(json!({"id": i})), i + 1))))
            .collect();
        lane.produce(&messages);
        produced += n;
        produced
    };
    produce(3);
    assert_eq!(code(&lane.run(&["clickhouse-init"])), 0);
    lane.wait_for_events(3);

    // Again: nothing to do, nothing lost.
    let output = lane.run(&["clickhouse-init", "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json_stdout(&output);
    assert_eq!(report["statements"], json!([]), "{report}");
    assert_eq!(report["summary"]["created"], 0);
    assert_eq!(report["topics"][0]["outcome"], "unchanged");
    lane.wait_for_events(produce(2));

    // Drift: an older column type, a hand-edited view, and the brokers listed differently.
    let events = lane.events_table();
    stack().clickhouse(&format!("ALTER TABLE {events} MODIFY COLUMN op String"));
    stack().clickhouse(&format!("DROP TABLE raw.errors_{}_mv SYNC", lane.id()));
    let other_brokers =
        format!("{},localhost:{}", stack().get("CLICKHOUSE_KAFKA_BROKERS"), stack().get("OLMIS_STACK_KAFKA_PORT"));
    let output = lane
        .olmisctl()
        .env("CLICKHOUSE_KAFKA_BROKERS", &other_brokers)
        .args(["clickhouse-init", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "drift fails until migrated: {}", stdout(&output));
    let report = json_stdout(&output);
    let object =
        |name: String| report["objects"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap().clone();
    let events_object = object(events.clone());
    assert_eq!(events_object["outcome"], "drifted", "{report}");
    assert_eq!(events_object["differences"][0]["part"], "column op");
    assert_eq!(events_object["fix"], json!({"how": "alter", "changes": ["MODIFY COLUMN `op` LowCardinality(String)"]}));
    let kafka_object = object(format!("raw.kafka_{}", lane.id()));
    assert_eq!(kafka_object["outcome"], "drifted");
    assert_eq!(kafka_object["differences"][0]["part"], "setting kafka_broker_list");
    assert_eq!(
        object(format!("raw.errors_{}_mv", lane.id()))["outcome"],
        "created",
        "missing views are created without --migrate"
    );
    let human =
        lane.olmisctl().env("CLICKHOUSE_KAFKA_BROKERS", &other_brokers).arg("clickhouse-init").output().unwrap();
    assert!(
        stdout(&human).contains("column op: expected `op` LowCardinality(String), found `op` String"),
        "{}",
        stdout(&human)
    );
    lane.wait_for_events(produce(2));

    let output = lane
        .olmisctl()
        .env("CLICKHOUSE_KAFKA_BROKERS", &other_brokers)
        .args(["clickhouse-init", "--migrate", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}\n{}", stdout(&output), stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["summary"]["migrated"], 2, "{report}");
    let statements: Vec<&str> = report["statements"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(
        statements
            .iter()
            .any(|s| s.ends_with(&format!("ALTER TABLE {events} MODIFY COLUMN `op` LowCardinality(String)"))),
        "{statements:?}"
    );
    assert!(!statements.iter().any(|s| s.contains(&format!("DROP TABLE IF EXISTS {events} "))), "{statements:?}");
    let group = stack().clickhouse(&format!(
        "SELECT extract(create_table_query, 'kafka_group_name = \\'([^\\']+)\\'') FROM system.tables WHERE database = 'raw' AND name = 'kafka_{}'",
        lane.id()
    ));
    assert_eq!(group, format!("clickhouse.raw.{}", lane.topic()), "the consumer group survives the migration");

    // After the migration: the same rows, then new ones, none twice.
    let total = produce(3);
    lane.wait_for_events(total);
    assert_eq!(lane.offsets(), (0..total as i64).collect::<Vec<_>>());
    let types = stack().clickhouse(&format!(
        "SELECT type FROM system.columns WHERE database = 'raw' AND table = 'events_{}' AND name = 'op'",
        lane.id()
    ));
    assert_eq!(types, "LowCardinality(String)");
    let output = lane
        .olmisctl()
        .env("CLICKHOUSE_KAFKA_BROKERS", &other_brokers)
        .args(["clickhouse-init", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert_eq!(json_stdout(&output)["statements"], json!([]));
}

#[test]
fn landing_resumes_from_committed_offsets_after_a_clickhouse_restart() {
    let _server = SERVER.write().unwrap_or_else(|e| e.into_inner());
    let lane = Lane::new("lots");
    lane.create_topic();
    let batch = |from: u64, to: u64| -> Vec<(String, Option<String>)> {
        (from..to)
            .map(|i| (key(&format!("l{i}")), Some(lane.event("c", None, Some(json!({"id": i})), i + 1))))
            .collect()
    };
    lane.produce(&batch(0, 5));
    assert_eq!(code(&lane.run(&["clickhouse-init"])), 0);
    lane.wait_for_events(5);

    let stack_sh = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stack/stack.sh");
    let run = |args: &[&str]| {
        let output = StdCommand::new(&stack_sh).args(args).output().expect("stack.sh runs");
        assert!(output.status.success(), "stack.sh {args:?} failed: {}{}", stdout(&output), stderr(&output));
    };
    run(&["down", "clickhouse"]);
    // Produced while ClickHouse is down: must land after the restart, once.
    lane.produce(&batch(5, 10));
    run(&["up", "clickhouse"]);

    lane.wait_for_events(10);
    lane.produce(&batch(10, 12));
    lane.wait_for_events(12);
    assert_eq!(lane.offsets(), (0..12).collect::<Vec<_>>(), "no gap, no duplicate");
}

#[test]
fn freshness_gate_names_stale_topics_and_tells_when_nothing_is_new() {
    let _server = shared_server();
    let lane = Lane::new("orders");
    lane.create_topic();
    lane.produce(&[(key("o1"), Some(lane.event("c", None, Some(json!({"id": "o1"})), 1)))]);
    assert_eq!(code(&lane.run(&["clickhouse-init"])), 0);
    lane.wait_for_events(1);

    let output = lane.run(&["verify", "freshness", "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json_stdout(&output);
    assert_eq!(report["topics"][0]["state"], "fresh", "{report}");
    assert_eq!(report["stale"], json!([]));
    assert_eq!(report["new_data"], Value::Null);
    let newest = report["newest_ingested_at"].as_str().expect("a timestamp").to_string();

    // Airflow's pattern (airflow/dags/platform_refresh.py): --since the previous successful run.
    let output = lane.run(&["verify", "freshness", "--json", "--since", &newest]);
    assert_eq!(code(&output), 0, "without --nothing-new-exit-code the answer is only reported");
    assert_eq!(json_stdout(&output)["new_data"], false);
    let output = lane.run(&["verify", "freshness", "--json", "--since", &newest, "--nothing-new-exit-code", "99"]);
    assert_eq!(code(&output), 99, "nothing landed after the newest event: {}", stdout(&output));
    assert_eq!(json_stdout(&output)["exit_code"], 99);
    let output = lane.run(&["verify", "freshness", "--since", &newest, "--nothing-new-exit-code", "5"]);
    assert_eq!(code(&output), 2, "only 99 is reserved for 'nothing new'");
    let output =
        lane.run(&["verify", "freshness", "--since", "2020-01-01T00:00:00+02:00", "--nothing-new-exit-code", "99"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).contains("1 event landed since 2019-12-31T22:00:00.000Z"), "{}", stdout(&output));
    let output = lane.run(&["verify", "freshness", "--since", ""]);
    assert_eq!(code(&output), 0, "an empty --since means no previous build: {}", stdout(&output));
    let output = lane.run(&["verify", "freshness", "--since", "last tuesday"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--since \"last tuesday\" is not a timestamp"), "{}", stderr(&output));

    // A topic nobody set up is stale, and named; with no age allowed, a healthy quiet topic is idle.
    let missing = format!("{}.{}.never_initialised", lane.prefix, lane.schema);
    let output = lane
        .olmisctl()
        .env("RAW_KAFKA_TOPICS", format!("{},{missing}", lane.topic()))
        .args(["verify", "freshness", "--max-age-minutes", "0"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains(&format!("Stale: {missing}\n")), "{text}");
    let line = text.lines().find(|l| l.contains(&lane.topic())).unwrap();
    assert!(line.starts_with("  PASS idle "), "{text}");
}

#[test]
fn print_sql_needs_no_server_and_bad_topics_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = olmisctl_bare(dir.path())
        .env("CLICKHOUSE_URL", "http://127.0.0.1:9")
        .env("RAW_KAFKA_TOPICS", "p.referencedata.facilities")
        .args(["clickhouse-init", "--print-sql"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let sql = stdout(&output);
    assert!(sql.contains("CREATE TABLE IF NOT EXISTS raw.events_referencedata_facilities\n"), "{sql}");
    assert!(sql.trim_end().ends_with("WHERE NOT (_error = '' AND message = '');"), "{sql}");

    let output =
        olmisctl_bare(dir.path()).env("RAW_KAFKA_TOPICS", "facilities").arg("clickhouse-init").output().unwrap();
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("<prefix>.<schema>.<table>"), "{}", stderr(&output));

    // No allowlist, no RAW_KAFKA_TOPICS: the core package's tables. There is no core here.
    let output = olmisctl_bare(dir.path()).args(["clickhouse-init", "--print-sql"]).output().unwrap();
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("core package folder does not exist") && err.contains("ANALYTICS_CORE_PATH"), "{err}");

    let core = dir.path().join("examples/olmis-analytics-core");
    std::fs::create_dir_all(core.join("connect")).unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
    std::fs::copy(examples.join("manifest.yaml"), core.join("manifest.yaml")).unwrap();
    let template = |tables: &str| {
        let text = format!("{{\n  \"table.include.list\": \"${{SOURCE_PG_TABLE_ALLOWLIST:-{tables}}}\"\n}}\n");
        std::fs::write(core.join("connect/connector.json.tmpl"), text).unwrap();
    };
    template("requisition.requisitions,Facilities");
    let output = olmisctl_bare(dir.path()).args(["clickhouse-init", "--print-sql"]).output().unwrap();
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("connector.json.tmpl: line 2:") && err.contains("[\"Facilities\"]"), "{err}");
    template("requisition.requisitions");
    let output = olmisctl_bare(dir.path()).args(["clickhouse-init", "--print-sql"]).output().unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("raw.events_requisition_requisitions\n"), "{}", stdout(&output));
}
