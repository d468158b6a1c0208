//! One smoke test per service of the test stack, proving each is the real thing and answers the way
//! the product uses it. They talk to the services directly (curl, kcat, psql, docker, dbt), not
//! through olmisctl, so a failure here points at the stack, not at the code under test.
//! Secrets go to curl on stdin, never as arguments.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Output, Stdio};

use common::*;
use serde_json::{Value, json};

/// An HTTP call through curl: (status code, body). `body`, when given, is sent on stdin as JSON.
fn http(method: &str, url: &str, body: Option<&Value>) -> (u16, String) {
    let mut cmd = StdCommand::new("curl");
    cmd.args(["-sS", "-m", "30", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]);
    if body.is_some() {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", "@-"]);
    }
    let output = run_with_stdin(cmd, body.map(|b| b.to_string()).unwrap_or_default());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn run_with_stdin(mut cmd: StdCommand, input: String) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.stdin.take().expect("stdin is piped").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("the command finishes")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Removes what the Debezium test created, also when it fails half-way.
struct CdcCleanup {
    connector: String,
    slot: String,
    database: String,
    topic: String,
}

/// psql as the superuser that reports failure instead of panicking: cleanup runs in `Drop`, where a
/// second panic during a failing test would abort the whole test binary.
/// The password goes in the environment, not in psql's arguments.
fn try_psql(database: &str, sql: &str) -> Option<String> {
    let mut url = url::Url::parse(stack().get("OLMIS_STACK_PG_ADMIN_URL")).ok()?;
    let password = url.password().unwrap_or_default().to_string();
    url.set_password(None).ok()?;
    url.set_path(database);
    let output = StdCommand::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url.as_str(), "-c", sql])
        .env("PGPASSWORD", password)
        .output()
        .ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

impl Drop for CdcCleanup {
    fn drop(&mut self) {
        let s = stack();
        let _ = http("DELETE", &format!("{}/connectors/{}", s.get("CONNECT_URL"), self.connector), None);
        // The slot stays active until the task has stopped; then it must be dropped by hand.
        let active = format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{}' AND active", self.slot);
        for _ in 0..100 {
            if try_psql("postgres", &active).as_deref() != Some("1") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        try_psql(
            "postgres",
            &format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'",
                self.slot
            ),
        );
        try_psql("postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database));
        let _ = StdCommand::new(s.bin("kafka-topics"))
            .args(["--bootstrap-server", s.get("KAFKA_BOOTSTRAP_SERVERS"), "--delete", "--topic", &self.topic])
            .output();
    }
}

#[test]
fn debezium_streams_an_insert_to_kafka() {
    let s = stack();
    let database = s.create_database("smoke_cdc");
    let name = unique("smoke_cdc").to_lowercase();
    let topic = format!("{name}.public.smoke");
    let _cleanup =
        CdcCleanup { connector: name.clone(), slot: name.clone(), database: database.clone(), topic: topic.clone() };
    s.psql(&database, "CREATE TABLE public.smoke (id integer PRIMARY KEY, name text NOT NULL)");

    let config = json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": s.get("SOURCE_PG_CONNECT_HOST"),
        "database.port": s.get("SOURCE_PG_CONNECT_PORT"),
        "database.user": s.get("SOURCE_PG_USER"),
        "database.password": s.get("SOURCE_PG_PASSWORD"),
        "database.dbname": database,
        "topic.prefix": name,
        "plugin.name": "pgoutput",
        "slot.name": name,
        "publication.name": name,
        "publication.autocreate.mode": "filtered",
        "table.include.list": "public.smoke",
        "snapshot.mode": "no_data",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.partitions": "1",
        "poll.interval.ms": "50",
    });
    let url = format!("{}/connectors/{name}/config", s.get("CONNECT_URL"));
    let (code, body) = http("PUT", &url, Some(&config));
    assert_eq!(code, 201, "creating the connector: {body}");

    let status_url = format!("{}/connectors/{name}/status", s.get("CONNECT_URL"));
    eventually(60, "the connector and its task RUNNING", || {
        let (code, body) = http("GET", &status_url, None);
        let status = (code == 200).then(|| json_of(&body))?;
        assert_ne!(status["tasks"][0]["state"], "FAILED", "the task failed: {status}");
        (status["connector"]["state"] == "RUNNING" && status["tasks"][0]["state"] == "RUNNING").then_some(())
    });
    // Changes are captured from the slot's creation on; wait for it before writing.
    eventually(60, "the replication slot", || {
        let count =
            s.psql("postgres", &format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{name}'"));
        (count == "1").then_some(())
    });
    let token = unique("inserted");
    s.psql(&database, &format!("INSERT INTO public.smoke VALUES (1, '{token}')"));

    let event = eventually(60, "the INSERT event in Kafka", || {
        let output = StdCommand::new(s.bin("kcat"))
            .args(["-b", s.get("KAFKA_BOOTSTRAP_SERVERS"), "-C", "-t", &topic, "-o", "beginning", "-e", "-q"])
            .args(["-m", "5", "-f", "%k\t%s\n"])
            .output()
            .expect("kcat runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.lines().find(|l| l.contains(&token)).map(str::to_string)
    });
    let (key, value) = event.split_once('\t').expect("key and value");
    assert_eq!(json_of(key), json!({"id": 1}));
    let value = json_of(value);
    assert_eq!(value["op"], "c", "an insert is a create event: {value}");
    assert_eq!(value["after"], json!({"id": 1, "name": token}));
    assert_eq!(value["source"]["db"], database);
    assert_eq!(value["source"]["table"], "smoke");
}

#[test]
fn clickhouse_answers_select_version() {
    let version = stack().clickhouse("SELECT version()");
    assert!(version.starts_with("26.9."), "ClickHouse 26.9 expected, got {version:?}");
    assert_eq!(stack().clickhouse("SELECT sum(number) FROM numbers(1001)"), "500500");
}

#[test]
fn superset_login_gives_a_token_and_refuses_a_wrong_password() {
    let s = stack();
    let url = format!("{}/api/v1/security/login", s.get("SUPERSET_URL"));
    let login = |password: &str| {
        http(
            "POST",
            &url,
            Some(
                &json!({"username": s.get("SUPERSET_ADMIN_USER"), "password": password, "provider": "db", "refresh": true}),
            ),
        )
    };
    let (code, body) = login(s.get("SUPERSET_ADMIN_PASSWORD"));
    assert_eq!(code, 200, "login: {body}");
    let token = json_of(&body)["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT access token: {body}");
    let (code, _) = login("not-the-password");
    assert_eq!(code, 401, "a wrong password is refused");
}

#[test]
fn airflow_health_is_all_healthy() {
    let (code, body) = http("GET", &format!("{}/api/v2/monitor/health", stack().get("AIRFLOW_URL")), None);
    assert_eq!(code, 200, "{body}");
    let health = json_of(&body);
    for component in ["metadatabase", "scheduler", "dag_processor"] {
        assert_eq!(health[component]["status"], "healthy", "{component}: {health}");
    }
    // The stack runs no triggerer (no deferrable tasks), which Airflow reports as status null;
    // anything that does report must be healthy.
    for (component, state) in health.as_object().expect("an object") {
        assert!(state["status"].is_null() || state["status"] == "healthy", "{component}: {state}");
    }
}

#[test]
fn dockerd_runs_a_test_container() {
    let s = stack();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = StdCommand::new(repo.join("tests/stack/docker/build-test-image.sh"))
        .env("DOCKER_HOST", s.get("DOCKER_HOST"))
        .output()
        .expect("build-test-image.sh runs");
    assert!(build.status.success(), "building the test image: {}", stderr(&build));
    let image = stdout(&build).trim().to_string();
    assert_eq!(image, "olmis-test/busybox:1");

    let token = unique("hello");
    let run = |args: &[&str]| {
        StdCommand::new("docker").env("DOCKER_HOST", s.get("DOCKER_HOST")).args(args).output().expect("docker runs")
    };
    let name = unique("olmis-smoke").replace('_', "-");
    let out = run(&["run", "--rm", "--name", &name, &image, "echo", &token]);
    assert!(out.status.success(), "docker run: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), token);
    let failing = run(&["run", "--rm", &image, "sh", "-c", "exit 7"]);
    assert_eq!(failing.status.code(), Some(7), "the container's exit code comes back");
}

#[test]
fn dbt_parses_a_project_with_the_clickhouse_adapter() {
    let s = stack();
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path();
    std::fs::create_dir(project.join("models")).expect("models dir");
    std::fs::write(
        project.join("dbt_project.yml"),
        "name: olmis_smoke\nversion: '1.0'\nconfig-version: 2\nprofile: olmis_smoke\nmodel-paths: [models]\n",
    )
    .expect("dbt_project.yml");
    let url = url::Url::parse(s.get("CLICKHOUSE_URL")).expect("CLICKHOUSE_URL parses");
    std::fs::write(
        project.join("profiles.yml"),
        format!(
            "olmis_smoke:\n  target: test\n  outputs:\n    test:\n      type: clickhouse\n      host: {}\n      port: {}\n      \
             user: \"{{{{ env_var('CLICKHOUSE_USER') }}}}\"\n      password: \"{{{{ env_var('CLICKHOUSE_PASSWORD') }}}}\"\n      \
             schema: smoke\n",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(8123),
        ),
    )
    .expect("profiles.yml");
    std::fs::write(project.join("models/smoke.sql"), "select 1 as id\n").expect("model");

    let out = StdCommand::new(s.get("OLMIS_DBT"))
        .args(["parse", "--project-dir"])
        .arg(project)
        .arg("--profiles-dir")
        .arg(project)
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
        .env("CLICKHOUSE_USER", s.get("CLICKHOUSE_USER"))
        .env("CLICKHOUSE_PASSWORD", s.get("CLICKHOUSE_PASSWORD"))
        .current_dir(project)
        .output()
        .expect("dbt runs");
    assert!(out.status.success(), "dbt parse: {}{}", stdout(&out), stderr(&out));
    let manifest = json_of(&std::fs::read_to_string(project.join("target/manifest.json")).expect("manifest.json"));
    assert_eq!(manifest["metadata"]["adapter_type"], "clickhouse");
    assert!(manifest["nodes"]["model.olmis_smoke.smoke"].is_object(), "the model is in the manifest");
}
