//! The command line itself, through the built binary: help texts (snapshots), configuration
//! precedence, malformed values, `init`, and that secrets never reach the output.

mod common;

use common::{olmisctl_bare, stderr, stdout};
use predicates::prelude::*;

/// Every subcommand path, so each help text is pinned by a snapshot and reviewed when it changes.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["init"],
    &["config"],
    &["up"],
    &["down"],
    &["ps"],
    &["logs"],
    &["restart"],
    &["reset"],
    &["build"],
    &["setup"],
    &["recover"],
    &["register-connector"],
    &["connector"],
    &["connector", "status"],
    &["connector", "delete"],
    &["connector", "refresh"],
    &["snapshot-tables"],
    &["watchdog"],
    &["clickhouse-init"],
    &["dbt-build"],
    &["dbt-test"],
    &["superset-import"],
    &["superset-export"],
    &["packages"],
    &["packages", "fetch"],
    &["packages", "validate"],
    &["verify"],
    &["bootstrap"],
    &["bootstrap", "export"],
    &["bootstrap", "import"],
    &["bootstrap", "recover-slot"],
    &["reconcile"],
    &["status"],
    &["demo"],
    &["demo", "seed"],
    &["completions"],
];

#[test]
fn help_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for path in COMMANDS {
        let mut args: Vec<&str> = path.to_vec();
        args.push("--help");
        let output = olmisctl_bare(dir.path()).env("COLUMNS", "100").args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let name = if path.is_empty() { "olmisctl".to_string() } else { path.join("_") };
        insta::assert_snapshot!(format!("help_{name}"), stdout(&output));
    }
}

fn project_with_env(contents: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), contents).unwrap();
    dir
}

fn config_value(json: &str, name: &str) -> (String, String) {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = doc["variables"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone();
    (entry["value"].as_str().unwrap_or("").to_string(), entry["origin"].as_str().unwrap_or("").to_string())
}

#[test]
fn flag_beats_environment_beats_env_file_beats_default() {
    let dir = project_with_env("SOURCE_PG_DB=file_db\nSOURCE_PG_USER=file_user\nSOURCE_PG_HOST=file_host\n");
    let output = olmisctl_bare(dir.path())
        .env("SOURCE_PG_DB", "env_db")
        .env("SOURCE_PG_USER", "env_user")
        .args(["--json", "--set", "SOURCE_PG_DB=flag_db", "config"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout(&output);
    assert_eq!(config_value(&json, "SOURCE_PG_DB"), ("flag_db".into(), "flag".into()));
    assert_eq!(config_value(&json, "SOURCE_PG_USER"), ("env_user".into(), "environment".into()));
    assert_eq!(config_value(&json, "SOURCE_PG_HOST"), ("file_host".into(), "env_file".into()));
    assert_eq!(config_value(&json, "SOURCE_PG_PORT"), ("5432".into(), "default".into()));
}

#[test]
fn env_file_flag_points_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.env"), "SOURCE_PG_DB=prod\n").unwrap();
    let output = olmisctl_bare(dir.path()).args(["--json", "--env-file", "prod.env", "config"]).output().unwrap();
    assert_eq!(config_value(&stdout(&output), "SOURCE_PG_DB").0, "prod");

    olmisctl_bare(dir.path())
        .args(["--env-file", "missing.env", "config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.env: does not exist"));
}

#[test]
fn malformed_values_fail_at_start_up_with_exit_2() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "SOURCE_PG_PORT",
            "5432x",
            "error: SOURCE_PG_PORT=\"5432x\" is not valid: expected a TCP port number (1-65535)",
        ),
        (
            "SOURCE_PG_PORT",
            "70000",
            "error: SOURCE_PG_PORT=\"70000\" is not valid: expected a TCP port number (1-65535)",
        ),
        (
            "CONNECT_URL",
            "localhost:8083",
            "error: CONNECT_URL=\"localhost:8083\" is not valid: expected a URL such as http://host:port",
        ),
        (
            "CLICKHOUSE_URL",
            "not a url",
            "error: CLICKHOUSE_URL=\"not a url\" is not valid: expected a URL such as http://host:port",
        ),
        (
            "SOURCE_PG_TABLE_ALLOWLIST",
            "referencedata.facilities,facilities",
            "error: SOURCE_PG_TABLE_ALLOWLIST=\"referencedata.facilities,facilities\" is not valid: expected comma-separated schema.table names in lowercase; \"facilities\" is not one",
        ),
        ("OLMIS_RUNTIME", "k8s", "error: OLMIS_RUNTIME=\"k8s\" is not valid: expected one of compose, external"),
        (
            "SOURCE_PG_SSLMODE",
            "on",
            "error: SOURCE_PG_SSLMODE=\"on\" is not valid: expected one of disable, allow, prefer, require, verify-ca, verify-full",
        ),
        ("RAW_TTL_DAYS", "-1", "error: RAW_TTL_DAYS=\"-1\" is not valid: expected a whole number (0 or more)"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (var, value, expected) in cases {
        let output = olmisctl_bare(dir.path()).env(var, value).arg("config").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let err = stderr(&output);
        assert!(err.starts_with(expected), "{var}={value}: got {err:?}");
        assert!(err.contains(&format!("hint: fix {var}")), "{err}");
    }
}

#[test]
fn malformed_env_file_names_the_file() {
    let dir = project_with_env("SOURCE_PG_DB=ok\nthis is not an assignment\n");
    let output = olmisctl_bare(dir.path()).arg("config").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains(".env: is not a valid env file"), "{err}");
}

#[test]
fn set_flag_refuses_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        olmisctl_bare(dir.path()).args(["--set", "SOURCE_PG_PASSWORD=hunter2hunter2", "config"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("secrets can't be passed as arguments"), "{err}");
    assert!(!err.contains("hunter2hunter2"), "{err}");
}

#[test]
fn secrets_are_masked_in_config_output() {
    let secret = "Sup3r-Secret-Value-42";
    let dir = project_with_env(&format!("CLICKHOUSE_PASSWORD={secret}\n"));
    for json in [false, true] {
        let mut cmd = olmisctl_bare(dir.path());
        cmd.env("SOURCE_PG_PASSWORD", secret).env("GIT_TOKEN", secret);
        if json {
            cmd.arg("--json");
        }
        let output = cmd.args(["-v", "config"]).output().unwrap();
        assert!(output.status.success());
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!all.contains(secret), "secret leaked (json={json}): {all}");
        assert!(all.contains("***"), "{all}");
    }
}

#[test]
fn init_creates_env_with_fresh_secrets_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    std::fs::write(dir.path().join(".env.example"), &example).unwrap();

    let first = olmisctl_bare(dir.path()).arg("init").output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let env_path = dir.path().join(".env");
    let written = std::fs::read_to_string(&env_path).unwrap();
    let value =
        |name: &str| written.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap_or_default().to_string();
    assert_eq!(value("SOURCE_PG_PASSWORD").len(), 32);
    assert_eq!(value("AIRFLOW__CORE__FERNET_KEY").len(), 44);
    assert_eq!(value("GIT_TOKEN"), "", "tokens are the operator's to supply");
    // No generated secret is printed.
    for name in ["SOURCE_PG_PASSWORD", "CLICKHOUSE_PASSWORD", "SUPERSET_SECRET_KEY"] {
        assert!(!stdout(&first).contains(&value(name)));
        assert!(!stderr(&first).contains(&value(name)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&env_path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let second = olmisctl_bare(dir.path()).args(["--json", "init"]).output().unwrap();
    assert!(second.status.success());
    let doc: serde_json::Value = serde_json::from_str(&stdout(&second)).unwrap();
    assert_eq!(doc["created"], false);
    assert_eq!(doc["added"].as_array().unwrap().len(), 0);
    assert_eq!(doc["generated"].as_array().unwrap().len(), 0);
    assert_eq!(std::fs::read_to_string(&env_path).unwrap(), written, "second init changed .env");
}

#[test]
fn init_never_overwrites_values_the_user_set() {
    let dir = tempfile::tempdir().unwrap();
    let mine =
        "# my settings\nSOURCE_PG_HOST=lmis.example.org\nSOURCE_PG_PASSWORD=my-own-password\nCLICKHOUSE_PASSWORD=\n";
    std::fs::write(dir.path().join(".env"), mine).unwrap();
    let output = olmisctl_bare(dir.path()).args(["--json", "init"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let written = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(
        written.starts_with("# my settings\nSOURCE_PG_HOST=lmis.example.org\nSOURCE_PG_PASSWORD=my-own-password\n")
    );
    let ch = written.lines().find_map(|l| l.strip_prefix("CLICKHOUSE_PASSWORD=")).unwrap();
    assert_eq!(ch.len(), 32, "an empty secret is filled in place");
    assert_eq!(written.matches("SOURCE_PG_HOST=").count(), 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(doc["generated"].as_array().unwrap().iter().any(|v| v == "CLICKHOUSE_PASSWORD"));
    assert!(!doc["added"].as_array().unwrap().iter().any(|v| v == "SOURCE_PG_HOST"));
}

#[test]
fn completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    olmisctl_bare(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("olmisctl"));
}

#[test]
fn missing_project_dir_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    olmisctl_bare(dir.path())
        .args(["--project-dir", "nope", "config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope: is not a directory"));
}
