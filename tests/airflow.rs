//! Airflow 3 on the real test stack: the DAG files import, `verify airflow` reports them, a backfill
//! with bad params fails with a clear message, and `verify airflow --trigger` follows a real run.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use olmisctl::clients::airflow::Airflow;
use olmisctl::settings::Settings;

fn settings() -> Settings {
    let env: BTreeMap<String, String> = stack().env.clone().into_iter().collect();
    Settings::load(Path::new(env!("CARGO_MANIFEST_DIR")), Path::new("/nonexistent/.env"), &[], &env).unwrap()
}

async fn client() -> Airflow {
    Airflow::login(&settings()).await.unwrap()
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

async fn wait_for_run(airflow: &Airflow, dag: &str, run_id: &str) -> String {
    for _ in 0..300 {
        let run = airflow.dag_run(dag, run_id).await.unwrap();
        if matches!(run.state.as_str(), "success" | "failed") {
            return run.state;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{dag} run {run_id} did not finish in 5 minutes");
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
        assert_eq!(wait_for_run(&airflow, "backfill", &run_id).await, "failed", "{conf}");
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
