//! The platform end to end on the real test stack (external mode) with the demo data: `setup` from
//! nothing to populated marts and dashboards, a second `setup` that changes nothing, source changes
//! reaching the marts, `status` figures against ground truth, `recover` bringing back a deleted
//! connector and a failed task. And, in compose mode, `setup`'s and `recover`'s container steps on
//! the stack's real Docker engine with the driver's test image.
//!
//! The end-to-end test owns a source database and a replication role of its own, its slot,
//! publication, topic prefix and connector. Two things are shared and so owned by this test alone
//! on the stack: the raw landing of the core package's tables (`clickhouse-init` creates it in the
//! `raw` database, named by table, not by topic) and the marts in `curated` behind the example
//! packages' dashboards (Superset's test metadata allows one dataset per table name, and the shipped
//! datasets read `curated`). Ground truth comes from psql, ClickHouse over curl and the services'
//! APIs, not from olmisctl.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The demo's "today" (src/demo/generate.rs): marts computed for it are the same whatever the clock.
const DEMO_AS_OF: &str = "2026-10-31";

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n--- stderr\n{}", stdout(output), stderr(output)))
}

fn curl(args: &[&str]) -> String {
    let out = StdCommand::new("curl").args(["-sS", "--max-time", "30"]).args(args).output().expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kafka Connect's REST API, independently of olmisctl.
fn connect(method: &str, path: &str) -> String {
    curl(&["-X", method, &format!("{}/{path}", stack().get("CONNECT_URL").trim_end_matches('/'))])
}

/// Airflow's API as the admin; `Null` when Airflow does not answer (cleanup must not panic).
fn airflow(method: &str, path: &str, body: Option<&str>) -> Value {
    let base = stack().get("AIRFLOW_URL").trim_end_matches('/').to_string();
    let login = serde_json::json!({"username": stack().get("AIRFLOW_ADMIN_USER"), "password": stack().get("AIRFLOW_ADMIN_PASSWORD")});
    let token: Value = serde_json::from_str(&curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        &login.to_string(),
        &format!("{base}/auth/token"),
    ]))
    .unwrap_or(Value::Null);
    let Some(token) = token["access_token"].as_str() else { return Value::Null };
    let auth = format!("Authorization: Bearer {token}");
    let url = format!("{base}/{path}");
    let mut args = vec!["-X", method, "-H", &auth, "-H", "Content-Type: application/json"];
    if let Some(body) = body {
        args.extend(["-d", body]);
    }
    args.push(&url);
    serde_json::from_str(&curl(&args)).unwrap_or(Value::Null)
}

/// One isolated platform: source database and role, CDC names, project directory.
struct Platform {
    name: String,
    db: String,
    role: String,
    project: tempfile::TempDir,
    env: Vec<(String, String)>,
    refresh_was_paused: Option<bool>,
}

impl Platform {
    fn new() -> Platform {
        let name = unique("plat").to_lowercase();
        let (db, role) = (format!("{name}_src"), format!("{name}_cdc"));
        let password = format!("pw-{name}");
        // A role of its own (not a superuser), so a task can be made to fail for real by taking its
        // REPLICATION away; it owns the database, so `demo seed` and the preflight's fixes may run.
        stack().psql("postgres", &format!("CREATE ROLE {role} LOGIN REPLICATION PASSWORD '{password}'"));
        stack().psql("postgres", &format!("CREATE DATABASE {db} OWNER {role}"));
        let project = project_with_runner();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let env = [
            ("SOURCE_PG_DB", db.clone()),
            ("SOURCE_PG_USER", role.clone()),
            ("SOURCE_PG_PASSWORD", password),
            ("SOURCE_PG_SLOT_NAME", name.clone()),
            ("SOURCE_PG_PUBLICATION", name.clone()),
            ("DEBEZIUM_TOPIC_PREFIX", name.clone()),
            ("CONNECTOR_NAME", name.clone()),
            ("DEBEZIUM_HEARTBEAT_INTERVAL_MS", "1000".to_string()),
            ("DBT_AS_OF_DATE", DEMO_AS_OF.to_string()),
            // The .env `setup` writes is the compose stack's; here Superset reaches ClickHouse as we do.
            ("SUPERSET_CLICKHOUSE_URL", stack().get("CLICKHOUSE_URL").to_string()),
            ("ANALYTICS_CORE_PATH", repo.join("examples/olmis-analytics-core").display().to_string()),
            ("ANALYTICS_EXTENSIONS_PATHS", repo.join("examples/olmis-analytics-malawi").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let refresh_was_paused = airflow("GET", "api/v2/dags/platform_refresh", None)["is_paused"].as_bool();
        drop_core_raw_landing();
        Platform { name, db, role, project, env, refresh_was_paused }
    }

    fn olmisctl(&self, args: &[&str]) -> Command {
        let mut cmd = stack().olmisctl(self.project.path());
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).args(args).timeout(Duration::from_secs(1800));
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.olmisctl(args).output().expect("olmisctl runs")
    }

    /// `olmisctl --json ARGS`: exit code and document; the output never shows a secret.
    fn run_json(&self, args: &[&str]) -> (i32, Value) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        for (key, value) in &self.env {
            if key.ends_with("PASSWORD") {
                assert!(!text.contains(value.as_str()), "{key} leaked into the output of {args:?}");
            }
        }
        for key in ["CLICKHOUSE_PASSWORD", "SUPERSET_ADMIN_PASSWORD", "AIRFLOW_ADMIN_PASSWORD"] {
            assert!(!text.contains(stack().get(key)), "{key} leaked into the output of {args:?}");
        }
        (out.status.code().unwrap_or(-1), json(&out))
    }

    fn psql(&self, sql: &str) -> String {
        stack().psql(&self.db, sql)
    }

    fn count(&self, table: &str) -> u64 {
        self.psql(&format!("SELECT count(*) FROM {table}")).parse().expect("a count")
    }

    fn raw_events(&self, table: &str) -> u64 {
        let id = table.replace('.', "_");
        stack().clickhouse(&format!("SELECT count() FROM raw.events_{id}")).parse().expect("a count")
    }

    fn connector_status(&self) -> Value {
        serde_json::from_str(&connect("GET", &format!("connectors/{}/status", self.name))).unwrap_or(Value::Null)
    }

    fn task_states(&self) -> Vec<String> {
        self.connector_status()["tasks"]
            .as_array()
            .map(|t| t.iter().map(|t| t["state"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    fn status(&self) -> (i32, Value) {
        self.run_json(&["status"])
    }
}

/// The core package's tables as `clickhouse-init` lands them: `raw.*_<schema>_<table>`.
fn core_table_ids() -> Vec<String> {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core/connect/connector.json.tmpl"),
    )
    .expect("the core's connector template");
    let start = template.find("${SOURCE_PG_TABLE_ALLOWLIST:-").expect("the default table list") + 29;
    let end = start + template[start..].find('}').expect("the end of the list");
    template[start..end].split(',').map(|t| t.trim().replace('.', "_")).collect()
}

/// Removes the raw landing of the core's tables, consumers first (views, then the Kafka tables).
fn drop_core_raw_landing() {
    for t in core_table_ids() {
        for object in [
            format!("parsed_{t}_mv"),
            format!("events_{t}_mv"),
            format!("errors_{t}_mv"),
            format!("kafka_{t}"),
            format!("parsed_{t}"),
            format!("events_{t}"),
        ] {
            stack().clickhouse(&format!("DROP TABLE IF EXISTS raw.{object} SYNC"));
        }
    }
}

/// Waits until no platform_refresh run is queued or running: one the scheduler started when setup
/// unpaused the DAG rebuilds `curated` too.
fn wait_for_refresh_runs() {
    eventually(900, "platform_refresh runs to finish", || {
        let runs = airflow("GET", "api/v2/dags/platform_refresh/dagRuns?state=queued&state=running", None);
        (runs["total_entries"] == 0).then_some(())
    });
}

impl Drop for Platform {
    fn drop(&mut self) {
        // A failing probe here must not abort the test run while it unwinds from a failure.
        let cleanup = std::panic::AssertUnwindSafe(|| {
            stack().delete_connector(&self.name);
            stack().drop_slot_when_idle(&self.name);
            // Its Kafka tables would go on consuming the test's topics.
            drop_core_raw_landing();
            if let Some(paused) = self.refresh_was_paused {
                airflow("PATCH", "api/v2/dags/platform_refresh", Some(&format!("{{\"is_paused\": {paused}}}")));
            }
            stack().psql("postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db));
            stack().psql("postgres", &format!("DROP ROLE IF EXISTS {}", self.role));
        });
        let _ = std::panic::catch_unwind(cleanup);
    }
}

fn outcomes(report: &Value) -> BTreeMap<String, String> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
}

/// The run_results.json dbt wrote last, by its generation time.
fn last_dbt_run(project: &Path) -> String {
    let text = std::fs::read_to_string(project.join("dbt/target/run_results.json")).expect("run_results.json");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["metadata"]["generated_at"].as_str().expect("generated_at").to_string()
}

#[test]
fn setup_to_dashboards_status_changes_and_recovery() {
    let p = Platform::new();

    // 1. From nothing: .env written, demo data seeded, everything built and verified.
    let (code, first) = p.run_json(&["setup", "--demo", "--yes", "--snapshot-timeout", "600"]);
    assert_eq!(code, 0, "setup failed:\n{first:#}");
    let steps = outcomes(&first);
    for (step, outcome) in [
        ("init", "done"),
        ("up", "skipped"),
        ("demo-seed", "done"),
        ("preflight", "done"),
        ("register-connector", "done"),
        ("clickhouse-init", "done"),
        ("snapshot", "done"),
        ("dbt-build", "done"),
        ("verify", "done"),
    ] {
        assert_eq!(steps[step], outcome, "step {step}: {first:#}");
    }
    assert!(p.project.path().join(".env").is_file(), "init wrote .env");
    // Warnings allowed: right after the snapshot, `verify ingestion` calls it possibly still running.
    assert_ne!(first["verify"]["status"], "fail", "{:#}", first["verify"]);
    let dashboards = first["dashboards"].as_array().expect("dashboards");
    assert!(dashboards.len() >= 4, "the core's and Malawi's dashboards: {dashboards:?}");
    for d in dashboards {
        assert!(d["url"].as_str().unwrap().starts_with(stack().get("SUPERSET_URL")), "{d}");
    }
    assert!(first["login"]["password"].as_str().unwrap().contains("SUPERSET_ADMIN_PASSWORD"), "{first:#}");
    assert_eq!(airflow("GET", "api/v2/dags/platform_refresh", None)["is_paused"], false, "setup unpaused it");

    // Ground truth: every source row landed, and the marts match the source.
    for table in ["referencedata.facilities", "requisition.requisitions", "stockmanagement.stock_card_line_items"] {
        let rows = p.count(table);
        assert!(rows > 0, "{table} has demo rows");
        assert!(p.raw_events(table) >= rows, "{table}: {} events for {rows} rows", p.raw_events(table));
    }
    let facilities = p.count("referencedata.facilities");
    assert_eq!(stack().clickhouse("SELECT count() FROM curated.mart_facility_directory"), facilities.to_string());
    // Populated dashboards: every dataset's table exists in ClickHouse with rows.
    let tables: Vec<&Value> = first["verify"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "superset")
        .expect("superset verified")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("table "))
        .collect();
    assert!(tables.len() >= 9, "{tables:?}");
    assert!(tables.iter().all(|c| c["level"] == "pass"), "a dataset's table is missing or empty: {tables:#?}");

    // 2. Again: every step finds its work done; nothing is rebuilt, re-registered or re-imported.
    let built = last_dbt_run(p.project.path());
    let config_before = connect("GET", &format!("connectors/{}/config", p.name));
    let (code, second) = p.run_json(&["setup", "--demo", "--yes"]);
    assert_eq!(code, 0, "{second:#}");
    for (step, outcome) in outcomes(&second) {
        let expected = match step.as_str() {
            "init" | "up" => "skipped",
            "verify" => "done",
            _ => "already_done",
        };
        assert_eq!(outcome, expected, "step {step} on the second run: {second:#}");
    }
    assert_eq!(last_dbt_run(p.project.path()), built, "the second setup ran dbt");
    assert_eq!(connect("GET", &format!("connectors/{}/config", p.name)), config_before);

    // From here on this test rebuilds marts itself: keep Airflow's refresh out of `curated`.
    airflow("PATCH", "api/v2/dags/platform_refresh", Some("{\"is_paused\": true}"));
    wait_for_refresh_runs();

    // 3. status: every figure, against the services' own view.
    let (code, status) = p.status();
    assert_eq!(status["connector"]["name"], p.name.as_str());
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["connector"]["tasks"][0]["state"], "RUNNING");
    assert_eq!(status["slot"]["exists"], true);
    assert_eq!(status["slot"]["active"], true);
    assert_eq!(status["slot"]["wal_status"], "reserved");
    assert!(status["slot"]["lag_bytes"].as_i64().unwrap() >= 0, "{status:#}");
    let ingestion = status["ingestion"].as_array().expect("ingestion");
    assert_eq!(ingestion.len(), 26, "one entry per captured table: {ingestion:#?}");
    let facilities_entry = ingestion.iter().find(|t| t["table"] == "referencedata_facilities").expect("facilities");
    assert_eq!(facilities_entry["rows"].as_u64(), Some(p.raw_events("referencedata.facilities")));
    assert!(facilities_entry["newest_event_age_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(facilities_entry["consumer_lag"], 0, "caught up: {facilities_entry}");
    assert_eq!(status["raw_errors"], 0);
    assert_eq!(status["dbt"]["tests_failed"], 0, "{:#}", status["dbt"]);
    assert!(status["dbt"]["models_built"].as_u64().unwrap() >= 30, "{:#}", status["dbt"]);
    let newest = airflow("GET", "api/v2/dags/platform_refresh/dagRuns?order_by=-run_after&limit=1", None);
    match newest["dag_runs"].as_array().and_then(|r| r.first()) {
        Some(run) => assert_eq!(status["refresh"]["run_id"], run["dag_run_id"], "{status:#}"),
        None => assert!(status["refresh"].is_null(), "{status:#}"),
    }
    let expected_exit = if status["refresh"]["state"] == "failed" { 1 } else { 0 };
    assert_eq!(code, expected_exit, "{status:#}");
    let prometheus = p.run(&["status", "--format", "prometheus"]);
    let text = stdout(&prometheus);
    assert!(text.contains(&format!("olmis_connector_running{{connector=\"{}\"}} 1\n", p.name)), "{text}");
    assert!(text.contains("olmis_raw_rows{table=\"referencedata_facilities\"}"), "{text}");

    // 4. An insert, an update and a delete in the source reach the marts after a refresh.
    let new_id = "0000beef-0000-4000-8000-000000000001";
    let renamed = p.psql("SELECT id FROM referencedata.facilities ORDER BY code LIMIT 1");
    let events_before = p.raw_events("referencedata.facilities");
    p.psql(&format!(
        "INSERT INTO referencedata.facilities SELECT * FROM jsonb_populate_record(NULL::referencedata.facilities,
           (SELECT to_jsonb(f) || jsonb_build_object('id', '{new_id}', 'code', 'PLATFORM-TEST', 'name', 'Platform Test Facility')
            FROM referencedata.facilities f LIMIT 1));
         UPDATE referencedata.facilities SET name = 'Renamed By The Platform Test' WHERE id = '{renamed}';"
    ));
    eventually(60, "the insert and the update to land", || {
        (p.raw_events("referencedata.facilities") >= events_before + 2).then_some(())
    });
    let refresh = || {
        let out = p.run(&["dbt-build", "--select", "+mart_facility_directory"]);
        assert!(out.status.success(), "dbt-build failed:\n{}\n{}", stdout(&out), stderr(&out));
    };
    refresh();
    let mart = |id: &str| {
        stack().clickhouse(&format!(
            "SELECT facility_name FROM curated.mart_facility_directory WHERE facility_id = '{id}'"
        ))
    };
    assert_eq!(mart(new_id), "Platform Test Facility");
    assert_eq!(mart(&renamed), "Renamed By The Platform Test");
    p.psql(&format!("DELETE FROM referencedata.facilities WHERE id = '{new_id}'"));
    eventually(60, "the delete to land", || {
        (p.raw_events("referencedata.facilities") >= events_before + 3).then_some(())
    });
    refresh();
    assert_eq!(mart(new_id), "", "the deleted facility is gone from the mart");
    assert_eq!(
        stack().clickhouse("SELECT count() FROM curated.mart_facility_directory"),
        p.count("referencedata.facilities").to_string()
    );

    // 5. Stop the connector: status shows it, and the slot's lag grows with the source's changes.
    connect("PUT", &format!("connectors/{}/stop", p.name));
    let stopped = eventually(60, "status to show the connector stopped and the slot idle", || {
        let (_, s) = p.status();
        (s["connector"]["state"] == "STOPPED" && s["slot"]["active"] == false).then_some(s)
    });
    let lag_before = stopped["slot"]["lag_bytes"].as_i64().expect("lag");
    p.psql(
        "UPDATE referencedata.facilities SET description = coalesce(description, '') || ' ' FROM generate_series(1, 3)",
    );
    let lagging = eventually(30, "status to show the slot's lag growing", || {
        let (_, s) = p.status();
        (s["slot"]["lag_bytes"].as_i64().unwrap_or(0) > lag_before + 100_000).then_some(s)
    });
    assert_ne!(lagging["status"], "pass", "{lagging:#}");
    let metrics = stdout(&p.run(&["status", "--format", "prometheus"]));
    assert!(metrics.contains(&format!("olmis_connector_running{{connector=\"{}\"}} 0\n", p.name)), "{metrics}");
    assert!(metrics.contains(&format!("olmis_replication_slot_active{{slot=\"{}\"}} 0\n", p.name)), "{metrics}");
    connect("PUT", &format!("connectors/{}/resume", p.name));
    eventually(120, "the lag to be read", || {
        let (_, s) = p.status();
        (s["slot"]["active"] == true && s["slot"]["lag_bytes"].as_i64().unwrap_or(i64::MAX) < lag_before + 100_000)
            .then_some(())
    });

    // 6. recover: a deleted connector comes back.
    connect("DELETE", &format!("connectors/{}", p.name));
    let (code, recovered) = p.run_json(&["recover"]);
    assert_eq!(code, 0, "{recovered:#}");
    assert_eq!(recovered["actions"][0]["action"], "register", "{recovered:#}");
    assert_eq!(recovered["actions"][0]["outcome"], "done", "{recovered:#}");
    assert_eq!(recovered["verify_cdc"]["status"], "pass", "{recovered:#}");
    assert_eq!(p.connector_status()["connector"]["state"], "RUNNING");

    // 7. recover: a task that failed for real (its user lost REPLICATION) runs again once fixed.
    p.psql(&format!("ALTER ROLE {} NOREPLICATION", p.role));
    let terminate = format!(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '{}' AND active",
        p.name
    );
    eventually(240, "the task to fail", || {
        p.psql(&terminate);
        (p.task_states() == ["FAILED"]).then_some(())
    });
    let (code, failing) = p.status();
    assert_eq!(code, 1, "{failing:#}");
    assert_eq!(failing["connector"]["tasks"][0]["state"], "FAILED");
    let (code, dry) = p.run_json(&["recover", "--dry-run"]);
    assert_eq!(code, 1, "{dry:#}");
    assert_eq!(dry["actions"][0]["outcome"], "would_do", "{dry:#}");
    assert_eq!(p.task_states(), ["FAILED"], "--dry-run changed nothing");
    p.psql(&format!("ALTER ROLE {} REPLICATION", p.role));
    let (code, recovered) = p.run_json(&["recover"]);
    assert_eq!(code, 0, "{recovered:#}");
    assert_eq!(recovered["actions"][0]["action"], "restart_failed", "{recovered:#}");
    assert_eq!(recovered["actions"][0]["outcome"], "done", "{recovered:#}");
    assert_eq!(p.task_states(), ["RUNNING"]);
}

/// The docker CLI on the stack's engine (ground truth for the compose test).
fn docker(args: &[&str]) -> std::process::Output {
    StdCommand::new("docker").args(args).env("DOCKER_HOST", stack().get("DOCKER_HOST")).output().expect("docker runs")
}

/// A copy of tests/fixtures/platform-compose under its own compose project; removed on drop.
struct ComposeProject {
    dir: tempfile::TempDir,
    name: String,
}

impl ComposeProject {
    /// A copy of tests/fixtures/<fixture> under a compose project of its own.
    fn new(fixture: &str) -> ComposeProject {
        let image = StdCommand::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stack/docker/build-test-image.sh"))
            .env("DOCKER_HOST", stack().get("DOCKER_HOST"))
            .output()
            .expect("the test image script runs");
        assert!(image.status.success(), "{}", stderr(&image));
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
        common::copy_dir(&fixture, dir.path(), &[]);
        let name = unique("pc").to_lowercase();
        std::fs::write(dir.path().join(".env"), format!("COMPOSE_PROJECT_NAME={name}\n")).expect("write .env");
        ComposeProject { dir, name }
    }

    /// olmisctl in compose mode, with a source and a Kafka Connect that are not there.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = stack().olmisctl(self.dir.path());
        cmd.env("OLMIS_RUNTIME", "compose")
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .env("SOURCE_PG_PORT", "1")
            .env("CONNECT_URL", "http://127.0.0.1:1")
            .env("ANALYTICS_CORE_PATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core"))
            .args(args)
            .timeout(Duration::from_secs(300));
        cmd
    }

    /// `command` with `--json`: its exit code and document.
    fn olmisctl(&self, args: &[&str]) -> (i32, Value) {
        let out = self.command(&["--json"]).args(args).output().expect("olmisctl runs");
        (out.status.code().unwrap_or(-1), json(&out))
    }

    fn container(&self, service: &str) -> String {
        let out = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.name),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ]);
        stdout(&out).trim().to_string()
    }

    fn running(&self, service: &str) -> bool {
        let id = self.container(service);
        !id.is_empty() && stdout(&docker(&["inspect", "-f", "{{.State.Running}}", &id])).trim() == "true"
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let ids = docker(&["ps", "-aq", "--filter", &format!("label=com.docker.compose.project={}", self.name)]);
        for id in stdout(&ids).split_whitespace() {
            docker(&["rm", "-f", id]);
        }
        docker(&["network", "rm", &format!("{}_default", self.name)]);
    }
}

/// Compose mode against the stack's real Docker engine: `setup` starts the project's services and
/// waits for them (the test image stands in for the platform's, which can't run here), resumes
/// without starting them again, and stops at the first step that fails; `recover` starts a service
/// whose container was stopped.
#[test]
fn compose_mode_setup_and_recover_drive_the_containers() {
    let c = ComposeProject::new("platform-compose");

    let (code, first) = c.olmisctl(&["setup"]);
    let steps = outcomes(&first);
    assert_eq!(steps["init"], "skipped", "{first:#}");
    assert_eq!(steps["up"], "done", "{first:#}");
    assert_eq!(steps["preflight"], "failed", "{first:#}");
    assert_eq!(steps["register-connector"], "not_run", "{first:#}");
    assert_eq!(code, 3, "an unreachable source is a service failure: {first:#}");
    assert_eq!(first["failure"]["step"], "preflight");
    assert_eq!(first["failure"]["step_command"], "olmisctl register-connector");
    assert!(c.running("db") && c.running("worker"), "both services run");

    let (_, again) = c.olmisctl(&["setup"]);
    assert_eq!(outcomes(&again)["up"], "already_done", "{again:#}");

    let (_, services) = c.olmisctl(&["verify", "services"]);
    let containers: Vec<&Value> = services["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("container "))
        .collect();
    assert_eq!(containers.len(), 2, "{services:#}");
    assert!(containers.iter().all(|c| c["level"] == "pass"), "{services:#}");

    let stopped = docker(&["stop", &c.container("worker")]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    assert!(!c.running("worker"));
    let (code, dry) = c.olmisctl(&["recover", "--dry-run"]);
    assert_eq!(dry["actions"][0]["action"], "start_services", "{dry:#}");
    assert_eq!(dry["actions"][0]["services"], serde_json::json!(["worker"]), "{dry:#}");
    assert_eq!(code, 3, "the source and Kafka Connect are down: {dry:#}");
    assert!(!c.running("worker"), "--dry-run starts nothing");
    let (code, recovered) = c.olmisctl(&["recover"]);
    assert_eq!(recovered["actions"][0]["outcome"], "done", "{recovered:#}");
    assert!(c.running("worker"), "recover started it");
    assert_eq!(code, 3, "the source and Kafka Connect are still down: {recovered:#}");
}

/// Compose mode on a host without dbt: `dbt-build` and `verify dbt` run olmisctl in the Airflow
/// scheduler's container through the Docker driver (a stand-in script plays the image's olmisctl,
/// see the fixture), stream its progress and report its summary as their own.
#[test]
fn without_dbt_on_the_host_dbt_runs_in_the_airflow_container() {
    let c = ComposeProject::new("dbt-in-container");
    let (code, up) = c.olmisctl(&["up"]);
    assert_eq!(code, 0, "{up:#}");
    // No dbt here: not configured, not on PATH.
    let without_dbt = |args: &[&str]| {
        let mut cmd = c.command(args);
        cmd.env_remove("OLMIS_DBT").env("PATH", "/usr/bin:/bin");
        cmd.output().expect("olmisctl runs")
    };

    let out = without_dbt(&["--json", "dbt-build", "--select", "+mart_two"]);
    assert_eq!(out.status.code(), Some(1), "a failed model fails the build:\n{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["nodes"], serde_json::json!({"built": 1, "failed": 1, "skipped": 0}), "{summary:#}");
    assert_eq!(summary["tests"]["passed"], 3);
    assert_eq!(summary["problems"][0]["name"], "mart_two");
    assert_eq!(summary["problems"][0]["file"], "examples/core/dbt/models/mart_two.sql");
    assert!(
        stderr(&out).contains("1 of 2 OK created sql table model curated.mart_one"),
        "the container's progress reaches the user:\n{}",
        stderr(&out)
    );
    let calls = docker(&["exec", &c.container("airflow-scheduler"), "cat", "/tmp/calls"]);
    assert_eq!(stdout(&calls).trim(), "--json --project-dir /opt/olmis dbt-build --select +mart_two");

    let human = without_dbt(&["dbt-test"]);
    assert_eq!(human.status.code(), Some(3), "the stand-in refuses dbt-test: {}", stderr(&human));
    assert!(stderr(&human).contains("in the airflow-scheduler container failed (exit code 2)"), "{}", stderr(&human));
    assert!(stderr(&human).contains("unexpected command"), "its output is quoted: {}", stderr(&human));

    let out = without_dbt(&["--json", "verify", "dbt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["checks"][0]["name"], "mart_one", "{report:#}");
    assert_eq!(report["checks"][0]["message"], "12 rows");

    let stopped = docker(&["stop", &c.container("airflow-scheduler")]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    let out = without_dbt(&["dbt-build"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("olmisctl up airflow-scheduler"), "{}", stderr(&out));
}
