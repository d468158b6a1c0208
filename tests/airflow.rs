//! Airflow 3 on the real test stack: the DAG files import, `verify airflow` reports them, a backfill
//! with bad params fails with a clear message, `verify airflow --trigger` follows a real run, and
//! `platform_refresh` runs its real tasks: it builds marts, skips the build when nothing new landed,
//! builds again when something did, and stops at the gate on stale data.
//!
//! Airflow runs the DAG files and the `olmisctl` of the checkout that last ran `tests/stack/stack.sh
//! up` (see tests/stack/services/airflow.sh); [`client`] makes sure that is this one. Runs of
//! `platform_refresh` are isolated by their conf (the DAG's `project_dir` and `settings` params): a
//! project directory, raw and curated databases and a topic of their own, never `raw` or `curated`.

mod common;
mod dbt_data;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use dbt_data::{Platform, Sizes, Source};
use olmisctl::clients::airflow::{Airflow, TaskInstance};
use olmisctl::settings::Settings;
use serde_json::{Value, json};

fn settings() -> Settings {
    let env: BTreeMap<String, String> = stack().env.clone().into_iter().collect();
    Settings::load(Path::new(env!("CARGO_MANIFEST_DIR")), Path::new("/nonexistent/.env"), &[], &env).unwrap()
}

/// A logged-in client, once Airflow is known to run this checkout's DAG files and olmisctl.
async fn client() -> Airflow {
    let airflow = Airflow::login(&settings()).await.unwrap();
    assert_airflow_runs_this_checkout(&airflow).await;
    airflow
}

/// Airflow reaches its checkout through a link: the parsed DAG file's real path names it. Tests
/// of another checkout's DAGs and binary would prove nothing about this one's.
async fn assert_airflow_runs_this_checkout(airflow: &Airflow) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let fix = "run `tests/stack/stack.sh up airflow` in this checkout (it re-points Airflow without a restart)";
    let dag = airflow.dag("platform_refresh").await.unwrap().expect("Airflow knows platform_refresh");
    let fileloc = PathBuf::from(dag.fileloc.expect("a DAG file"));
    let file = fileloc.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", fileloc.display()));
    let checkout = file.ancestors().nth(3).expect("<checkout>/airflow/dags/<file>").to_path_buf();
    assert_eq!(
        checkout,
        here,
        "Airflow runs the DAGs and olmisctl of {}, not of this checkout: {fix}",
        checkout.display()
    );
    let tasks_binary = checkout.join("target/debug/olmisctl").canonicalize().ok();
    let tested_binary = Path::new(env!("CARGO_BIN_EXE_olmisctl")).canonicalize().ok();
    assert_eq!(
        tasks_binary,
        tested_binary,
        "Airflow's tasks run {}/target/debug/olmisctl, these tests built another binary: build into this checkout's target/ (CARGO_TARGET_DIR)",
        checkout.display()
    );
    // Right after a re-point, the DAG processor needs a few seconds to parse the files again.
    for dag_id in ["platform_refresh", "backfill"] {
        let ours = std::fs::read_to_string(here.join(format!("airflow/dags/{dag_id}.py"))).unwrap();
        let mut parsed = String::new();
        for _ in 0..60 {
            parsed = airflow.dag_source(dag_id).await.unwrap();
            if parsed == ours {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(
            parsed == ours,
            "Airflow's {dag_id}.py still differs from this checkout's after 60 s: is it failing to import \
             (`olmisctl verify airflow`, run/airflow/dag-processor.log)?"
        );
    }
}

fn verify_json(args: &[&str]) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let output = stack().olmisctl(dir.path()).args(["--json", "verify", "airflow"]).args(args).output().unwrap();
    let doc = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&output), stderr(&output)));
    (output.status.code().unwrap_or(-1), doc)
}

fn check<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {doc}"))
}

#[tokio::test]
async fn dag_files_import_cleanly_and_verify_sees_both_dags() {
    let airflow = client().await;
    let ours: Vec<_> = airflow
        .import_errors()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.filename.ends_with("platform_refresh.py") || e.filename.ends_with("backfill.py"))
        .collect();
    assert!(ours.is_empty(), "import errors: {:?}", ours.iter().map(|e| &e.stack_trace).collect::<Vec<_>>());

    let (_, doc) = tokio::task::spawn_blocking(|| verify_json(&[])).await.unwrap();
    assert_eq!(check(&doc, "health")["level"], "pass", "{doc}");
    assert_eq!(check(&doc, "login")["level"], "pass", "{doc}");
    assert_eq!(check(&doc, "dag platform_refresh")["level"], "pass", "{doc}");
    assert_eq!(check(&doc, "dag backfill")["level"], "pass", "{doc}");
}

/// Airflow 3's public interfaces only: the Task SDK and the standard provider. Airflow 3 still
/// imports much of Airflow 2's (`airflow.models.DAG`, `airflow.operators.bash`) with a warning,
/// so importing cleanly doesn't prove it; Airflow 2's removed names are refused too.
#[test]
fn dag_files_use_airflow_3_interfaces_only() {
    let dags = Path::new(env!("CARGO_MANIFEST_DIR")).join("airflow/dags");
    let mut files = 0;
    for entry in std::fs::read_dir(&dags).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}: {line}", path.display(), n + 1);
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["from" | "import", module, ..] = words[..]
                && (module == "airflow" || module.starts_with("airflow."))
            {
                let allowed = module == "airflow.sdk" || module.starts_with("airflow.providers.standard.");
                assert!(allowed, "not an Airflow 3 interface (airflow.sdk, airflow.providers.standard): {at}");
            }
            for removed in ["schedule_interval", "execution_date", "days_ago", "provide_context"] {
                assert!(!line.contains(removed), "{removed} is gone in Airflow 3: {at}");
            }
        }
    }
    assert_eq!(files, 2, "platform_refresh.py and backfill.py in {}", dags.display());
}

#[tokio::test]
async fn wrong_password_is_a_clear_authentication_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = stack()
        .olmisctl(dir.path())
        .env("AIRFLOW_ADMIN_PASSWORD", "definitely-wrong-password")
        .args(["verify", "airflow"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("FAIL login") && text.contains("was refused"), "{text}");
    assert!(text.contains("check AIRFLOW_ADMIN_USER and AIRFLOW_ADMIN_PASSWORD"), "{text}");
    assert!(!text.contains("definitely-wrong-password"));
}

/// The run's final state. Runs of a DAG go one at a time (max_active_runs=1) and wait while the
/// DAG is paused, so `secs` covers the queue too.
async fn wait_for_run(airflow: &Airflow, dag: &str, run_id: &str, secs: u64) -> String {
    let mut state = String::new();
    for _ in 0..secs {
        state = airflow.dag_run(dag, run_id).await.unwrap().state;
        if matches!(state.as_str(), "success" | "failed") {
            return state;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let paused = airflow.dag(dag).await.unwrap().is_some_and(|d| d.is_paused);
    panic!("{dag} run {run_id} is still {state} after {secs} s (DAG paused: {paused})");
}

#[tokio::test]
async fn backfill_with_bad_params_fails_with_a_clear_message() {
    let airflow = client().await;
    airflow.set_paused("backfill", false).await.unwrap();
    let cases = [
        (
            serde_json::json!({"tables": ["facilities"]}),
            "param 'tables' has ['facilities']: expected lowercase schema.table names",
        ),
        (
            serde_json::json!({"tables": ["referencedata.facilities"], "mode": "bootstrap", "since": "2024-13-01", "date_column": "x"}),
            "param 'since' is '2024-13-01': expected a date YYYY-MM-DD",
        ),
        (
            serde_json::json!({"tables": ["referencedata.facilities"], "since": "2024-01-01"}),
            "a date range (since/until) needs mode 'bootstrap'",
        ),
    ];
    for (conf, expected) in cases {
        let run_id = unique("bad_params");
        airflow.trigger("backfill", &run_id, conf.clone()).await.unwrap();
        assert_eq!(wait_for_run(&airflow, "backfill", &run_id, 300).await, "failed", "{conf}");
        let tasks = airflow.task_instances("backfill", &run_id).await.unwrap();
        let state = |id: &str| tasks.iter().find(|t| t.task_id == id).and_then(|t| t.state.clone());
        assert_eq!(state("validate_params").as_deref(), Some("failed"));
        assert_eq!(state("load").as_deref(), Some("upstream_failed"), "nothing ran after a bad param");
        let try_number = tasks.iter().find(|t| t.task_id == "validate_params").unwrap().try_number.max(1);
        let log = airflow.task_log("backfill", &run_id, "validate_params", try_number).await.unwrap().join("\n");
        assert!(log.contains(expected), "log of {conf} lacks {expected:?}:\n{log}");
    }
}

/// One test owns platform_refresh's paused state: parallel tests must not flip it under a run.
#[tokio::test]
async fn paused_refresh_fails_verification_then_trigger_follows_a_real_run() {
    let airflow = client().await;
    airflow.set_paused("platform_refresh", true).await.unwrap();
    let (code, doc) = tokio::task::spawn_blocking(|| verify_json(&["--trigger"])).await.unwrap();
    assert_eq!(code, 1, "{doc}");
    let schedule = check(&doc, "schedule");
    assert_eq!(schedule["level"], "fail");
    assert!(schedule["hint"].as_str().unwrap().contains("unpause"), "{schedule}");
    assert!(doc.get("run").is_none(), "a paused DAG is not triggered: {doc}");

    airflow.set_paused("platform_refresh", false).await.unwrap();
    let (code, doc) =
        tokio::task::spawn_blocking(|| verify_json(&["--trigger", "--run-timeout", "600"])).await.unwrap();
    let run = &doc["run"];
    let tasks: Vec<&str> = run["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap()).collect();
    for task in ["freshness_gate", "dbt_build", "dbt_test"] {
        assert!(tasks.contains(&task), "{task} missing from {doc}");
    }
    // The exit code, the run check and Airflow's own record of the run must agree.
    let recorded = airflow.dag_run("platform_refresh", run["run_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(run["state"], recorded.state.as_str());
    if recorded.state == "success" {
        assert_eq!(check(&doc, "run")["level"], "pass");
    } else {
        assert_eq!(code, 1);
        assert_eq!(check(&doc, "run")["level"], "fail");
        assert!(!run["failed_task_log"].as_array().unwrap().is_empty(), "a failed run shows its log tail: {doc}");
    }
}

/// The landing of one topic in a raw database of the test's own, made by `clickhouse-init`, for the
/// freshness gate to watch. No Kafka topic exists behind it (the prefix is the test's own), so its
/// consumer never catches up and never takes anybody's messages: events are put in by the test.
struct Landing {
    raw: String,
    curated: String,
    topic: String,
    /// Whether the databases are the landing's to drop.
    owns_databases: bool,
}

impl Landing {
    /// In databases of a [`Platform`], which drops them.
    fn of(platform: &Platform) -> Landing {
        Landing::new(&platform.raw, &platform.curated, false)
    }

    /// In new databases of its own.
    fn alone() -> Landing {
        let name = unique("af_landing").to_lowercase();
        Landing::new(&format!("{name}_raw"), &format!("{name}_curated"), true)
    }

    fn new(raw: &str, curated: &str, owns_databases: bool) -> Landing {
        let topic = format!("{}.referencedata.facilities", unique("af").to_lowercase());
        let landing = Landing { raw: raw.into(), curated: curated.into(), topic, owns_databases };
        let dir = tempfile::tempdir().unwrap();
        let mut init = stack().olmisctl(dir.path());
        for (name, value) in landing.settings() {
            init.env(name, value.as_str().unwrap());
        }
        let output = init.arg("clickhouse-init").output().unwrap();
        assert!(output.status.success(), "clickhouse-init: {}{}", stdout(&output), stderr(&output));
        landing
    }

    /// The olmisctl variables that make a run land, check and build in these databases (a run's
    /// `settings` param).
    fn settings(&self) -> serde_json::Map<String, Value> {
        let json = json!({
            "RAW_KAFKA_TOPICS": self.topic,
            "CLICKHOUSE_RAW_DATABASE": self.raw,
            "CLICKHOUSE_CURATED_DATABASE": self.curated,
        });
        json.as_object().unwrap().clone()
    }

    /// One event, landed `ago_secs` seconds ago.
    fn land(&self, ago_secs: u64) {
        stack().clickhouse(&format!(
            "INSERT INTO {}.events_referencedata_facilities (kafka_topic, op, after, ingested_at) \
             VALUES ('{}', 'c', '{{\"id\": \"x\"}}', now64(3) - INTERVAL {ago_secs} SECOND)",
            self.raw, self.topic
        ));
    }
}

/// The consumer goes, always: idle consumers left behind slow the shared server's pool. A failed
/// test keeps its databases for inspection.
impl Drop for Landing {
    fn drop(&mut self) {
        let s = stack();
        for table in ["parsed_referencedata_facilities_mv", "kafka_referencedata_facilities"] {
            s.clickhouse_quietly(&format!("DROP TABLE IF EXISTS {}.{table} SYNC", self.raw));
        }
        if self.owns_databases && !std::thread::panicking() {
            for database in [&self.raw, &self.curated] {
                s.clickhouse_quietly(&format!("DROP DATABASE IF EXISTS {database} SYNC"));
            }
        }
    }
}

/// The mart the refresh runs build: a narrow selection keeps a dbt run short on two cores.
const MART: &str = "mart_facility_directory";

/// One isolated configuration of `platform_refresh`: a platform of its own (source database, raw
/// and curated databases, project directory with the runner project), its facilities' topic landed
/// in its raw database for the gate. The landing goes before the platform's databases.
struct Refresh {
    landing: Landing,
    platform: Platform,
}

impl Refresh {
    fn new() -> Refresh {
        let platform = Platform::new("af_refresh", Source::Generated(Sizes::TEST));
        Refresh { landing: Landing::of(&platform), platform }
    }

    /// The run's conf: what makes it check and build this platform and nothing else.
    fn conf(&self) -> Value {
        let p = &self.platform;
        let mut settings = self.landing.settings();
        settings.insert("SOURCE_PG_DB".into(), p.source_db.clone().into());
        settings.insert("ANALYTICS_CORE_PATH".into(), p.core.display().to_string().into());
        settings.insert("DBT_AS_OF_DATE".into(), p.as_of.clone().into());
        json!({ "project_dir": p.project.path(), "select": format!("+{MART}"), "settings": settings })
    }

    /// When ClickHouse last wrote the mart's table (its server clock, seconds); `None` before a build.
    fn built_at(&self, table: &str) -> Option<i64> {
        let sql = format!(
            "SELECT toUnixTimestamp(metadata_modification_time) FROM system.tables WHERE database = '{}' AND name = '{table}'",
            self.platform.curated
        );
        let text = stack().clickhouse(&sql);
        (!text.is_empty()).then(|| text.parse().unwrap())
    }

    fn mart_rows(&self) -> u64 {
        stack().clickhouse(&format!("SELECT count() FROM {}.{MART}", self.platform.curated)).parse().unwrap()
    }

    fn source_facilities(&self) -> u64 {
        self.platform.psql("SELECT count(*) FROM referencedata.facilities").parse().unwrap()
    }
}

fn clickhouse_now() -> i64 {
    stack().clickhouse("SELECT toUnixTimestamp(now())").parse().unwrap()
}

/// A finished run of platform_refresh: its state and its tasks' states.
struct Finished {
    run_id: String,
    state: String,
    tasks: Vec<TaskInstance>,
}

impl Finished {
    fn task(&self, task_id: &str) -> &TaskInstance {
        self.tasks.iter().find(|t| t.task_id == task_id).unwrap_or_else(|| panic!("no task {task_id}"))
    }

    fn states(&self) -> Vec<(String, String)> {
        self.tasks.iter().map(|t| (t.task_id.clone(), t.state.clone().unwrap_or_default())).collect()
    }
}

/// Triggers a run for the logical date "now", as the scheduler does: only such runs have a previous
/// successful run for the gate to compare with (Airflow 3 leaves runs without a logical date out).
async fn refresh(airflow: &Airflow, conf: Value) -> Finished {
    let run_id = unique("refresh");
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    airflow.trigger_for("platform_refresh", &run_id, Some(&now), conf).await.unwrap();
    let state = wait_for_run(airflow, "platform_refresh", &run_id, 1200).await;
    let tasks = airflow.task_instances("platform_refresh", &run_id).await.unwrap();
    Finished { run_id, state, tasks }
}

async fn log(airflow: &Airflow, run: &Finished, task_id: &str) -> String {
    let try_number = run.task(task_id).try_number.max(1);
    airflow.task_log("platform_refresh", &run.run_id, task_id, try_number).await.unwrap().join("\n")
}

/// The states, and the log of the first task that did not succeed, for a failure message.
async fn explain(airflow: &Airflow, run: &Finished) -> String {
    let mut text = format!("run {} {}: {:?}", run.run_id, run.state, run.states());
    if let Some(t) = run.tasks.iter().find(|t| t.state.as_deref() == Some("failed")) {
        text.push_str(&format!("\n--- log of {}:\n{}", t.task_id, log(airflow, run, &t.task_id).await));
    }
    text
}

/// One story, since the gate compares with the DAG's previous successful run: a first run builds the
/// marts from fresh data, a second one with nothing new skips the build, a third one after new
/// events builds again.
#[tokio::test]
async fn refresh_builds_marts_skips_when_nothing_is_new_and_builds_again_when_data_lands() {
    let airflow = client().await;
    let refresh_setup = Refresh::new();
    let r = &refresh_setup;
    assert_eq!(r.built_at(MART), None);

    let before = clickhouse_now();
    let first = refresh(&airflow, r.conf()).await;
    assert_eq!(first.state, "success", "{}", explain(&airflow, &first).await);
    for task in ["freshness_gate", "dbt_build", "dbt_test"] {
        assert_eq!(first.task(task).state.as_deref(), Some("success"), "{:?}", first.states());
    }
    let gate_log = log(&airflow, &first, "freshness_gate").await;
    let fresh = format!("PASS fresh  {}  newest event", r.landing.topic);
    assert!(gate_log.contains(&fresh), "the gate watched this run's topic:\n{gate_log}");
    let built = r.built_at(MART).expect("the run built the mart");
    assert!(built >= before, "built at {built}, the run started at {before}");
    assert_eq!(r.mart_rows(), r.source_facilities(), "the mart holds this platform's facilities");
    assert_eq!(r.built_at("mart_stock_on_hand"), None, "only the selection ({MART} and its parents) is built");

    let second = refresh(&airflow, r.conf()).await;
    assert_eq!(second.state, "success", "{}", explain(&airflow, &second).await);
    for task in ["freshness_gate", "dbt_build", "dbt_test"] {
        assert_eq!(second.task(task).state.as_deref(), Some("skipped"), "{:?}", second.states());
    }
    let gate_log = log(&airflow, &second, "freshness_gate").await;
    assert!(gate_log.contains("Nothing landed since"), "{gate_log}");
    assert_eq!(r.built_at(MART), Some(built), "a skipped build leaves the marts alone");

    // A new facility in the source, and its event in the platform's raw table.
    r.platform.psql(
        "INSERT INTO referencedata.facilities (id, code, name, active, enabled, geographiczoneid, typeid)
         VALUES (olmis_test_id('facility-airflow'), 'HC88888', 'Airflow Facility', true, true,
                 olmis_test_id('zone-D0'), olmis_test_id('type-hc'))",
    );
    r.platform.emit("referencedata.facilities", "c", "code = 'HC88888'");
    let third = refresh(&airflow, r.conf()).await;
    assert_eq!(third.state, "success", "{}", explain(&airflow, &third).await);
    assert_eq!(third.task("dbt_build").state.as_deref(), Some("success"), "{:?}", third.states());
    let rebuilt = r.built_at(MART).expect("the mart is still there");
    assert!(rebuilt > built, "the build time advances: {built} then {rebuilt}");
    assert_eq!(r.mart_rows(), r.source_facilities(), "the new facility is in the mart");

    for run in [first, second, third] {
        airflow.delete_dag_run("platform_refresh", &run.run_id).await.unwrap();
    }
}

#[tokio::test]
async fn stale_raw_data_fails_the_gate_and_its_log_names_the_topic() {
    let airflow = client().await;
    let landing = Landing::alone();
    landing.land(3 * 3600);
    let project = tempfile::tempdir().unwrap();
    let conf =
        json!({ "project_dir": project.path(), "freshness_max_age_minutes": 60, "settings": landing.settings() });
    let run = refresh(&airflow, conf).await;
    assert_eq!(run.state, "failed", "{:?}", run.states());
    assert_eq!(run.task("freshness_gate").state.as_deref(), Some("failed"));
    for task in ["dbt_build", "dbt_test"] {
        assert_eq!(run.task(task).state.as_deref(), Some("upstream_failed"), "{:?}", run.states());
    }
    let gate_log = log(&airflow, &run, "freshness_gate").await;
    assert!(gate_log.contains(&format!("Stale: {}", landing.topic)), "{gate_log}");
    assert!(gate_log.contains(&format!("FAIL stale  {}  newest event 3h ago", landing.topic)), "{gate_log}");
    airflow.delete_dag_run("platform_refresh", &run.run_id).await.unwrap();
}
