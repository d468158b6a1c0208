//! The platform end to end on the real test stack (external mode) with the demo data: `setup` from
//! nothing to populated marts and dashboards, a second `setup` that changes nothing, source changes
//! reaching the marts, `status` figures against ground truth, `recover` bringing back a deleted
//! connector and a failed task. And, in compose mode, `setup`'s and `recover`'s container steps on
//! the stack's real Docker engine with the driver's test image.
//!
//! The end-to-end test owns a source database and a replication role of its own, its slot,
//! publication, topic prefix, connector and raw ClickHouse database. The marts go to `curated` and the
//! dashboards are the example packages' own (Superset's test metadata allows one dataset per table
//! name, and the shipped datasets read `curated`), so only one test here builds them. Ground truth
//! comes from psql, ClickHouse over curl and the services' APIs, not from olmisctl.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n--- stderr\n{}", stdout(output), stderr(output)))
}

fn outcomes(report: &Value) -> BTreeMap<String, String> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
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
    fn new() -> ComposeProject {
        let image = StdCommand::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stack/docker/build-test-image.sh"))
            .env("DOCKER_HOST", stack().get("DOCKER_HOST"))
            .output()
            .expect("the test image script runs");
        assert!(image.status.success(), "{}", stderr(&image));
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platform-compose");
        common::copy_dir(&fixture, dir.path(), &[]);
        let name = unique("pc").to_lowercase();
        std::fs::write(dir.path().join(".env"), format!("COMPOSE_PROJECT_NAME={name}\n")).expect("write .env");
        ComposeProject { dir, name }
    }

    /// olmisctl in compose mode, with a source and a Kafka Connect that are not there.
    fn olmisctl(&self, args: &[&str]) -> (i32, Value) {
        let mut cmd = stack().olmisctl(self.dir.path());
        cmd.env("OLMIS_RUNTIME", "compose")
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .env("SOURCE_PG_PORT", "1")
            .env("CONNECT_URL", "http://127.0.0.1:1")
            .env("ANALYTICS_CORE_PATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core"))
            .arg("--json")
            .args(args)
            .timeout(Duration::from_secs(300));
        let out = cmd.output().expect("olmisctl runs");
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
    let c = ComposeProject::new();

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
