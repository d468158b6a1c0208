//! Change data capture on the real stack: PostgreSQL -> Debezium (Kafka Connect) -> Kafka.
//!
//! Each test has its own database, slot, publication, topic prefix and connector, and removes its
//! connector and slot when it ends (slots hold WAL on the shared server). Topic contents are read
//! with kcat and source state with psql, independently of olmisctl.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The Connect worker is shared: the test that kills it runs alone among this file's tests.
static WORKER: RwLock<()> = RwLock::new(());

fn shared_worker() -> RwLockReadGuard<'static, ()> {
    WORKER.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive_worker() -> RwLockWriteGuard<'static, ()> {
    WORKER.write().unwrap_or_else(|e| e.into_inner())
}

const SCHEMA: &str = "
CREATE SCHEMA referencedata; CREATE SCHEMA requisition;
CREATE TABLE referencedata.facilities (id uuid PRIMARY KEY, code text NOT NULL, name text, active boolean);
CREATE TABLE referencedata.programs (id uuid PRIMARY KEY, code text NOT NULL, name text);
CREATE TABLE requisition.requisitions (id uuid PRIMARY KEY, facilityid uuid, status text, createddate timestamptz);
ALTER TABLE requisition.requisitions REPLICA IDENTITY FULL;
INSERT INTO referencedata.facilities SELECT gen_random_uuid(), 'F' || g, 'Facility ' || g, true FROM generate_series(1, 3) g;
INSERT INTO referencedata.programs SELECT gen_random_uuid(), 'P' || g, 'Program ' || g FROM generate_series(1, 4) g;
INSERT INTO requisition.requisitions SELECT gen_random_uuid(), NULL, 'INITIATED', now() FROM generate_series(1, 2) g;";

const CORE_TABLES: &str = "referencedata.facilities,requisition.requisitions";

/// One test's CDC world: database, names, a project directory; cleans up Connect and the slot.
struct Cdc {
    db: String,
    name: String,
    project: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Cdc {
    fn new(tag: &str) -> Cdc {
        let s = stack();
        let db = s.create_database(tag);
        s.psql(&db, SCHEMA);
        let name = unique(tag).to_lowercase();
        let core = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
        let env = vec![
            ("SOURCE_PG_DB", db.clone()),
            ("SOURCE_PG_SLOT_NAME", name.clone()),
            ("SOURCE_PG_PUBLICATION", name.clone()),
            ("DEBEZIUM_TOPIC_PREFIX", name.clone()),
            ("CONNECTOR_NAME", name.clone()),
            ("SOURCE_PG_TABLE_ALLOWLIST", CORE_TABLES.to_string()),
            ("DEBEZIUM_HEARTBEAT_INTERVAL_MS", "1000".to_string()),
            ("ANALYTICS_CORE_PATH", core.display().to_string()),
        ];
        let env = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Cdc { db, name, project: tempfile::tempdir().expect("temp dir"), env }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    fn olmisctl(&self, args: &[&str]) -> Command {
        let mut cmd = stack().olmisctl(self.project.path());
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).args(args).timeout(Duration::from_secs(300));
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.olmisctl(args).output().expect("olmisctl runs")
    }

    fn psql(&self, sql: &str) -> String {
        stack().psql(&self.db, sql)
    }

    fn topic(&self, table: &str) -> String {
        format!("{}.{table}", self.name)
    }

    /// Every Debezium event of a table's topic (tombstones skipped), as (op, before, after).
    fn events(&self, table: &str) -> Vec<(String, Value, Value)> {
        let out = StdCommand::new(stack().bin("kcat"))
            .args([
                "-b",
                stack().get("KAFKA_BOOTSTRAP_SERVERS"),
                "-C",
                "-t",
                &self.topic(table),
                "-o",
                "beginning",
                "-e",
                "-q",
                "-J",
            ])
            .output()
            .expect("kcat runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|m| {
                m.get("payload").and_then(Value::as_str).and_then(|p| serde_json::from_str::<Value>(p).ok())
            })
            .map(|e| (e["op"].as_str().unwrap_or("").to_string(), e["before"].clone(), e["after"].clone()))
            .collect()
    }

    fn ids_in_topic(&self, table: &str) -> BTreeSet<String> {
        self.events(table)
            .into_iter()
            .filter(|(op, _, _)| op != "d")
            .filter_map(|(_, _, after)| after["id"].as_str().map(str::to_string))
            .collect()
    }

    fn ids_in_source(&self, table: &str) -> BTreeSet<String> {
        self.psql(&format!("SELECT id FROM {table}")).lines().map(str::to_string).collect()
    }

    fn connector_status(&self) -> Option<Value> {
        let out = StdCommand::new("curl")
            .args([
                "-sS",
                "--max-time",
                "5",
                &format!("{}/connectors/{}/status", stack().get("CONNECT_URL"), self.name),
            ])
            .output()
            .expect("curl runs");
        serde_json::from_slice::<Value>(&out.stdout).ok().filter(|v| v.get("connector").is_some())
    }

    fn task_states(&self) -> Vec<String> {
        self.connector_status()
            .and_then(|s| s["tasks"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|t| t["state"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn wait_running(&self) {
        eventually(90, "connector and task RUNNING", || {
            let s = self.connector_status()?;
            (s["connector"]["state"] == "RUNNING" && self.task_states() == ["RUNNING"]).then_some(())
        });
    }

    fn delete_connector(&self) {
        stack().delete_connector(&self.name);
    }
}

impl Drop for Cdc {
    fn drop(&mut self) {
        self.delete_connector();
        if !stack().drop_slot_when_idle(&self.name) {
            eprintln!("warning: replication slot {} is still active; drop it by hand", self.name);
        }
    }
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(output), stderr(output)))
}

fn register(cdc: &Cdc) -> Value {
    // The worker is shared with other test suites: give its rebalances time.
    let out = cdc.run(&["--json", "register-connector", "--yes", "--timeout", "300"]);
    assert_eq!(out.status.code(), Some(0), "register-connector failed:\n{}\n{}", stdout(&out), stderr(&out));
    json(&out)
}

#[test]
fn register_streams_changes_with_before_images_and_is_idempotent() {
    let _worker = shared_worker();
    let cdc = Cdc::new("cdc_reg");
    let first = register(&cdc);
    assert_eq!(first["action"], "created");
    assert_eq!(first["tables"], 2);
    // The preflight created olmisctl's own objects on the source.
    let changes: Vec<String> =
        first["source_changes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert!(changes.iter().any(|c| c.starts_with("create publication")), "{changes:?}");
    assert_eq!(cdc.psql(&format!("SELECT count(*) FROM pg_publication_tables WHERE pubname = '{}'", cdc.name)), "4");

    eventually(60, "3 snapshot reads of facilities", || {
        (cdc.events("referencedata.facilities").len() == 3).then_some(())
    });
    let fac = cdc.psql("SELECT id FROM referencedata.facilities WHERE code = 'F1'");
    let req = cdc.psql("SELECT id FROM requisition.requisitions LIMIT 1");
    cdc.psql(&format!(
        "INSERT INTO referencedata.facilities VALUES ('00000000-0000-0000-0000-000000000001', 'F9', 'New', true);
         UPDATE referencedata.facilities SET name = 'Renamed' WHERE id = '{fac}';
         DELETE FROM referencedata.facilities WHERE code = 'F2';
         UPDATE requisition.requisitions SET status = 'SUBMITTED' WHERE id = '{req}';
         DELETE FROM requisition.requisitions WHERE id = '{req}';"
    ));

    let fac_events = eventually(30, "insert, update and delete on facilities", || {
        let e = cdc.events("referencedata.facilities");
        (e.len() >= 6).then_some(e)
    });
    let ops: Vec<&str> = fac_events.iter().map(|(op, _, _)| op.as_str()).collect();
    assert_eq!(ops, ["r", "r", "r", "c", "u", "d"]);
    let (_, _, after) = &fac_events[3];
    assert_eq!(after["code"], "F9");
    // REPLICA IDENTITY DEFAULT: no before image on update, the key only on delete.
    let (_, before, after) = &fac_events[4];
    assert_eq!((after["id"].as_str(), after["name"].as_str()), (Some(fac.as_str()), Some("Renamed")));
    assert!(before.is_null(), "default identity sends no before image on update: {before}");
    let (_, before, after) = &fac_events[5];
    assert!(after.is_null());
    assert!(before["id"].is_string() && before["name"].is_null(), "default identity sends only the key: {before}");

    // REPLICA IDENTITY FULL: whole before images.
    let req_events = eventually(30, "update and delete on requisitions", || {
        let e = cdc.events("requisition.requisitions");
        (e.len() >= 4).then_some(e)
    });
    let (op, before, after) = &req_events[2];
    assert_eq!(
        (op.as_str(), before["status"].as_str(), after["status"].as_str()),
        ("u", Some("INITIATED"), Some("SUBMITTED"))
    );
    let (op, before, _) = &req_events[3];
    assert_eq!((op.as_str(), before["status"].as_str()), ("d", Some("SUBMITTED")));
    assert!(before["createddate"].is_string(), "timestamptz as an ISO string: {before}");

    // Again: nothing changes, nothing is re-read.
    let second = register(&cdc);
    assert_eq!(second["action"], "unchanged");
    assert!(second["source_changes"].as_array().unwrap().is_empty());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(cdc.events("referencedata.facilities").len(), 6, "a second registration must not snapshot again");
    assert_eq!(cdc.task_states(), ["RUNNING"]);

    // Status and verify agree.
    let status = cdc.run(&["connector", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
    assert!(stdout(&status).contains("task 0: RUNNING"), "{}", stdout(&status));
    let verify = cdc.run(&["--json", "verify", "cdc"]);
    let report = json(&verify);
    assert_eq!(verify.status.code(), Some(0), "{report:#}");
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for want in
        ["kafka connect", "wal_level", "publication", "connector", "tasks", "topics", "slot advances", "snapshot"]
    {
        assert!(names.contains(&want), "verify cdc lacks {want}: {names:?}");
    }
    assert!(!stdout(&verify).contains(stack().get("SOURCE_PG_PASSWORD")));
}

#[test]
fn preflight_names_each_problem_with_its_fix() {
    let _worker = shared_worker();
    let mut cdc = Cdc::new("cdc_pre");
    let role = format!("{}_u", cdc.name);
    cdc.psql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}';
         GRANT USAGE ON SCHEMA referencedata, requisition TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA referencedata, requisition TO {role};
         CREATE TABLE public.debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));
         CREATE TABLE public.debezium_heartbeat (id integer PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now());
         GRANT SELECT, INSERT, UPDATE ON public.debezium_signal, public.debezium_heartbeat TO {role};
         CREATE PUBLICATION {} FOR TABLE referencedata.facilities, public.debezium_signal, public.debezium_heartbeat;",
        cdc.name
    ));
    cdc.set("SOURCE_PG_USER", &role);
    cdc.set("SOURCE_PG_PASSWORD", &format!("pw-{role}"));
    let out = cdc.run(&["--json", "register-connector"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let check = |name: &str| -> Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {report:#}"))
    };
    assert_eq!(check("wal_level")["level"], "pass");
    assert_eq!(check("replication role")["level"], "fail");
    assert_eq!(check("replication role")["hint"], format!("ALTER ROLE {role} WITH REPLICATION;"));
    let publication = check("publication");
    assert_eq!(publication["level"], "fail");
    assert!(publication["message"].as_str().unwrap().contains("lacks requisition.requisitions"), "{publication}");
    assert_eq!(publication["hint"], format!("ALTER PUBLICATION {} ADD TABLE requisition.requisitions;", cdc.name));
    // The user owns neither the publication nor the table: the SQL is for a DBA, nothing was changed.
    let human = cdc.run(&["register-connector", "--yes"]);
    assert_eq!(human.status.code(), Some(1));
    assert!(stdout(&human).contains("FAIL replication role"), "{}", stdout(&human));
    let dba = stderr(&human);
    assert!(dba.contains("SQL for a DBA") && dba.contains("ADD TABLE requisition.requisitions;"), "{dba}");
    assert_eq!(cdc.psql(&format!("SELECT count(*) FROM pg_publication_tables WHERE pubname = '{}'", cdc.name)), "3");
    assert!(cdc.connector_status().is_none(), "nothing may be registered after a failed preflight");
    cdc.psql(&format!("DROP PUBLICATION {}; DROP OWNED BY {role}; DROP ROLE {role}", cdc.name));
}

/// The facts gathered from the real server, evaluated as if its wal_level were `replica` (the
/// shared server's can't be changed).
#[test]
fn gathered_facts_with_wal_level_replica_fail_with_the_fix() {
    use olmisctl::cdc::{connector_config, preflight, register, source_facts};
    let _worker = shared_worker();
    let cdc = Cdc::new("cdc_wal");
    let mut env: std::collections::BTreeMap<String, String> = stack().env.clone().into_iter().collect();
    env.extend(cdc.env.iter().cloned());
    let settings =
        olmisctl::settings::Settings::load(cdc.project.path(), &cdc.project.path().join(".env"), &[], &env).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (facts, wants) = runtime.block_on(async {
        let config = connector_config::load(&settings).unwrap();
        let wants = register::wants(&settings, &config);
        let client = olmisctl::clients::postgres::connect(&settings).await.unwrap();
        (source_facts::gather(&client, &wants).await.unwrap(), wants)
    });
    assert_eq!(facts.wal_level, "logical");
    assert!(facts.superuser && facts.tables.len() == 2, "{facts:?}");
    let mut replica = facts.clone();
    replica.wal_level = "replica".into();
    let result = preflight::evaluate(&replica, &wants);
    let wal = result.checks.iter().find(|c| c.name == "wal_level").unwrap();
    assert_eq!(wal.level, olmisctl::checks::Level::Fail);
    assert!(wal.hint.as_deref().unwrap().starts_with("ALTER SYSTEM SET wal_level = logical;"));
    let ok = preflight::evaluate(&facts, &wants);
    assert_eq!(ok.checks.iter().find(|c| c.name == "wal_level").unwrap().level, olmisctl::checks::Level::Pass);
}

#[test]
fn watchdog_reregisters_and_restarts_a_failed_task() {
    let _worker = shared_worker();
    let mut cdc = Cdc::new("cdc_wd");
    let role = format!("{}_u", cdc.name);
    cdc.psql(&format!(
        "CREATE ROLE {role} LOGIN REPLICATION PASSWORD 'pw-{role}';
         GRANT USAGE ON SCHEMA referencedata, requisition TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA referencedata, requisition TO {role};
         CREATE TABLE public.debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));
         CREATE TABLE public.debezium_heartbeat (id integer PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now());
         GRANT SELECT, INSERT, UPDATE ON public.debezium_signal, public.debezium_heartbeat TO {role};
         CREATE PUBLICATION {} FOR TABLE referencedata.facilities, requisition.requisitions, public.debezium_signal, public.debezium_heartbeat;",
        cdc.name
    ));
    cdc.set("SOURCE_PG_USER", &role);
    cdc.set("SOURCE_PG_PASSWORD", &format!("pw-{role}"));
    register(&cdc);
    cdc.wait_running();

    // Healthy: nothing to do.
    let out = cdc.run(&["--json", "watchdog", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json(&out)["outcome"], "healthy");

    // Deleted -> registered again.
    cdc.delete_connector();
    let out = cdc.run(&["--json", "watchdog", "--once"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["outcome"], "repaired");
    let events: Vec<&str> = report["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["missing", "registered", "running"]);
    cdc.wait_running();

    // A real failure: the user loses REPLICATION and its walsender is cut off.
    cdc.psql(&format!("ALTER ROLE {role} NOREPLICATION"));
    let terminate = format!(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '{}' AND active",
        cdc.name
    );
    // Debezium retries a few times (errors.max.retries) before the task is FAILED.
    eventually(180, "the task to fail", || {
        cdc.psql(&terminate);
        (cdc.task_states() == ["FAILED"]).then_some(())
    });
    let out = cdc.run(&["--json", "watchdog", "--once"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "still broken: the restart can't help yet\n{report:#}");
    let restarted = report["events"].as_array().unwrap().iter().find(|e| e["event"] == "restarted").cloned();
    let restarted = restarted.unwrap_or_else(|| panic!("no restart event: {report:#}"));
    assert!(restarted["message"].as_str().unwrap().contains("task 0"), "{restarted}");

    // Fixed on the source: the next watchdog run brings it back (or finds Debezium's own retry did).
    cdc.psql(&format!("ALTER ROLE {role} REPLICATION"));
    let out = cdc.run(&["--json", "watchdog", "--once"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    cdc.wait_running();
    let active = format!("SELECT active FROM pg_replication_slots WHERE slot_name = '{}'", cdc.name);
    eventually(60, "the slot read again", || (cdc.psql(&active) == "t").then_some(()));
    cdc.delete_connector();
    cdc.psql(&format!("DROP OWNED BY {role}"));
    drop(cdc);
    stack().psql("postgres", &format!("DROP ROLE IF EXISTS {role}"));
}

#[test]
fn refresh_snapshots_a_newly_allowlisted_table_only() {
    let _worker = shared_worker();
    let mut cdc = Cdc::new("cdc_ref");
    register(&cdc);
    eventually(60, "facilities snapshot", || (cdc.events("referencedata.facilities").len() == 3).then_some(()));
    cdc.set("SOURCE_PG_TABLE_ALLOWLIST", &format!("{CORE_TABLES},referencedata.programs"));
    let out = cdc.run(&["--json", "connector", "refresh", "--yes"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["mode"], "incremental");
    assert_eq!(report["snapshotted"].as_array().unwrap().len(), 1);
    assert_eq!(cdc.ids_in_topic("referencedata.programs"), cdc.ids_in_source("referencedata.programs"));
    assert_eq!(cdc.events("referencedata.facilities").len(), 3, "other tables must not be snapshotted again");
    // A second refresh has nothing to do.
    let again = cdc.run(&["connector", "refresh", "--yes"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(stderr(&again).contains("nothing to refresh"), "{}", stderr(&again));

    // snapshot-tables re-reads one captured table on demand, and refuses others.
    let out = cdc.run(&["snapshot-tables", "referencedata.programs"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(cdc.events("referencedata.programs").iter().filter(|(op, _, _)| op == "r").count(), 8);
    let out = cdc.run(&["snapshot-tables", "referencedata.lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not in the allowlist: referencedata.lots"), "{}", stderr(&out));
}

#[test]
fn kill_9_of_the_connect_worker_loses_no_event() {
    let _worker = exclusive_worker();
    let cdc = Cdc::new("cdc_kill");
    register(&cdc);
    cdc.wait_running();
    let db = cdc.db.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..60 {
            stack().psql(
                &db,
                &format!(
                    "INSERT INTO referencedata.facilities VALUES (gen_random_uuid(), 'K{i}', 'during kill', true)"
                ),
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_secs(2));
    let pid_file = PathBuf::from(stack().get("OLMIS_STACK_RUN")).join("pids/connect.worker.pid");
    let pid = std::fs::read_to_string(&pid_file).expect("connect pid file").lines().next().unwrap().trim().to_string();
    let killed = StdCommand::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
    writer.join().unwrap();
    let stack_sh = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/stack/stack.sh");
    let up = StdCommand::new(stack_sh).args(["up", "connect"]).output().unwrap();
    assert!(up.status.success(), "stack.sh up connect: {}", String::from_utf8_lossy(&up.stderr));
    // The watchdog sees the connector back (or repairs it) once the worker is up.
    let out = cdc.run(&["--json", "watchdog", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    eventually(90, "every facility in the topic", || {
        (cdc.ids_in_topic("referencedata.facilities") == cdc.ids_in_source("referencedata.facilities")).then_some(())
    });
}

/// Forwards 127.0.0.1:<port> to the stack's PostgreSQL once started: a source that is down at
/// first and comes up later, seen by olmisctl and by Kafka Connect alike.
fn start_proxy(port: u16) {
    let target = format!("127.0.0.1:{}", stack().get("SOURCE_PG_PORT"));
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("proxy port is free");
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else { continue };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            };
            if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                pipe(client, s2);
                pipe(server, c2);
            }
        }
    });
}

#[test]
fn watchdog_completes_registration_when_the_source_comes_up() {
    let _worker = shared_worker();
    let mut cdc = Cdc::new("cdc_late");
    // Nothing listens on this port yet.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    cdc.set("SOURCE_PG_PORT", &port.to_string());
    cdc.set("SOURCE_PG_CONNECT_PORT", &port.to_string());

    let out = cdc.run(&["register-connector", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "source down: {}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));

    let mut watchdog = StdCommand::new(assert_cmd::cargo::cargo_bin!("olmisctl"));
    watchdog.env_clear().envs(&stack().env).envs(cdc.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    watchdog.env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(cdc.project.path());
    let mut child = watchdog
        .args(["--json", "watchdog", "--interval", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog starts");
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let next_event = |want: &str| -> Value {
        loop {
            let e = rx.recv_timeout(Duration::from_secs(90)).unwrap_or_else(|_| panic!("no {want} event"));
            if e["event"] == want {
                return e;
            }
        }
    };
    let down = next_event("source_unreachable");
    assert!(down["message"].as_str().unwrap().contains("retrying"), "{down}");
    start_proxy(port);
    let registered = next_event("registered");
    assert!(registered["message"].as_str().unwrap().contains("created"), "{registered}");
    cdc.wait_running();
    let _ = child.kill();
    let _ = child.wait();
    eventually(60, "facilities snapshot through the late source", || {
        (cdc.ids_in_topic("referencedata.facilities") == cdc.ids_in_source("referencedata.facilities")).then_some(())
    });
}
