//! The Docker driver (`up`, `down`, `ps`, `logs`, `restart`, `reset`, `build`, exec) against the test
//! stack's real Docker engine and compose CLI, on the test project in tests/fixtures/compose: `slow`
//! turns healthy a few seconds after each start, `never` never does, `exits` exits with code 3.
//!
//! Every test has its own compose project (and external network), removed at the end. Assertions
//! check the engine's state through the docker CLI, independently of the code under test.

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Output};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/compose");

/// The docker CLI on the stack's engine.
fn docker(args: &[&str]) -> Output {
    StdCommand::new("docker")
        .args(args)
        .env("DOCKER_HOST", stack().get("DOCKER_HOST"))
        .output()
        .expect("the docker CLI runs")
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(out.status.success(), "docker {args:?} failed: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// The FROM-scratch busybox image every fixture service is built on (idempotent, cached).
fn test_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stack/docker/build-test-image.sh");
        let out = StdCommand::new(script).env("DOCKER_HOST", stack().get("DOCKER_HOST")).output().expect("runs");
        assert!(out.status.success(), "build-test-image.sh failed: {}", stderr(&out));
    });
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the fixture project with its own compose project name; removed on drop.
struct TestProject {
    dir: tempfile::TempDir,
    name: String,
    network: String,
}

impl TestProject {
    fn new() -> TestProject {
        TestProject::with_env("")
    }

    /// `extra` lines are appended to the project's .env.
    fn with_env(extra: &str) -> TestProject {
        test_image();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(Path::new(FIXTURE), dir.path());
        let name = unique("dk");
        let network = format!("{name}_shared");
        std::fs::write(
            dir.path().join(".env"),
            format!(
                "COMPOSE_PROJECT_NAME={name}\nOLMIS_TEST_SECRET=s3cret-for-compose\nOLMIS_TEST_NETWORK={network}\n{extra}"
            ),
        )
        .unwrap();
        TestProject { dir, name, network }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// olmisctl in compose mode (the stack's env file says external) on this project.
    fn olmisctl(&self) -> Command {
        let mut cmd = stack().olmisctl(self.path());
        cmd.env("OLMIS_RUNTIME", "compose");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.olmisctl().args(args).output().unwrap()
    }

    /// Runs and asserts the exit code, showing the output when it differs.
    fn expect(&self, args: &[&str], code: i32) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "olmisctl {args:?}\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
        out
    }

    fn container_ids(&self) -> Vec<String> {
        let label = format!("label=com.docker.compose.project={}", self.name);
        docker_ok(&["ps", "-aq", "--filter", &label]).lines().map(str::to_string).collect()
    }

    /// `docker inspect` of the service's container.
    fn inspect(&self, service: &str) -> Value {
        let filters = [
            format!("label=com.docker.compose.project={}", self.name),
            format!("label=com.docker.compose.service={service}"),
        ];
        let id = docker_ok(&["ps", "-aq", "--filter", &filters[0], "--filter", &filters[1]]);
        assert!(!id.is_empty() && !id.contains('\n'), "one container for {service}, got {id:?}");
        let json: Value = serde_json::from_str(&docker_ok(&["inspect", &id])).unwrap();
        json[0].clone()
    }

    fn volume(&self) -> String {
        format!("{}_data", self.name)
    }

    fn volume_exists(&self) -> bool {
        docker(&["volume", "inspect", &self.volume()]).status.success()
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        let ids = self.container_ids();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            docker(&args);
        }
        let label = format!("label=com.docker.compose.project={}", self.name);
        for volume in docker_ok(&["volume", "ls", "-q", "--filter", &label]).lines() {
            docker(&["volume", "rm", "-f", volume]);
        }
        let default_net = format!("{}_default", self.name);
        docker(&["network", "rm", &default_net, &self.network]);
        docker(&["rmi", "-f", &format!("{}_slow", self.name), &format!("{}-slow", self.name)]);
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

#[test]
fn up_waits_for_health_and_reports_each_service_that_is_not_ready() {
    let p = TestProject::new();

    let out = p.expect(&["up", "slow", "--json"], 0);
    let report = json(&out);
    assert_eq!(report["services"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["services"][0]["service"], "slow");
    assert_eq!(report["services"][0]["status"], "healthy");
    // The health check passes only READY_AFTER (3) seconds after the start: `up` waited for it.
    assert!(report["services"][0]["seconds"].as_f64().unwrap() >= 3.0, "{report}");
    assert_eq!(report["compat_overlay"], false);
    assert_eq!(report["networks_created"], serde_json::json!([p.network]));
    assert_eq!(p.inspect("slow")["State"]["Health"]["Status"], "healthy");
    assert!(docker(&["network", "inspect", &p.network]).status.success(), "the external network exists");
    assert!(p.inspect("slow")["HostConfig"]["SecurityOpt"].is_null(), "no compat overlay on engine 20.10.24");

    let out = p.expect(&["up"], 3);
    let err = stderr(&out);
    assert!(err.contains("✓ slow: healthy"), "{err}");
    assert!(err.contains("2 of 3 services are not ready"), "{err}");
    assert!(err.contains("never: unhealthy\n  last health check (exit 1): probe: not ready yet"), "{err}");
    assert!(err.contains("    | never: line one\n    | never: line two"), "{err}");
    assert!(err.contains("exits: exited with code 3\n  last log line:\n    | exits: giving up"), "{err}");
    assert_eq!(p.inspect("never")["State"]["Health"]["Status"], "unhealthy");
    assert_eq!(p.inspect("exits")["State"]["ExitCode"], 3);

    // ps --json is the engine's view.
    let ps = json(&p.expect(&["ps", "--json"], 0));
    assert_eq!(ps["project"], p.name.as_str());
    let rows = ps["services"].as_array().unwrap();
    let services: Vec<&str> = rows.iter().map(|r| r["service"].as_str().unwrap()).collect();
    assert_eq!(services, vec!["exits", "never", "slow"]);
    for row in rows {
        let inspect = p.inspect(row["service"].as_str().unwrap());
        assert_eq!(row["container"], inspect["Name"].as_str().unwrap().trim_start_matches('/'));
        assert_eq!(row["state"], inspect["State"]["Status"]);
        assert_eq!(row["health"], inspect["State"]["Health"]["Status"]);
        if row["state"] == "running" {
            let started = inspect["State"]["StartedAt"].as_str().unwrap();
            assert_eq!(&row["started_at"].as_str().unwrap()[..19], &started[..19]);
            assert!(row["uptime_secs"].as_u64().is_some());
        } else {
            assert_eq!(row["exit_code"], inspect["State"]["ExitCode"]);
            assert!(row["started_at"].is_null());
        }
        let published = &inspect["NetworkSettings"]["Ports"]["80/tcp"];
        if published.is_array() {
            assert_eq!(row["ports"][0]["host_ip"], "127.0.0.1");
            assert_eq!(row["ports"][0]["host_port"].to_string(), published[0]["HostPort"].as_str().unwrap());
            assert_eq!(row["ports"][0]["container_port"], 80);
        } else {
            assert_eq!(row["ports"], serde_json::json!([]));
        }
    }
    let table = stdout(&p.expect(&["ps"], 0));
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("exits") && l.contains("exited (3)")), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("slow") && l.contains("healthy") && l.contains("127.0.0.1:")),
        "{table}"
    );

    // logs: tail, one service without prefix, several with, JSON, and -f on a stopped container ends.
    assert_eq!(stdout(&p.expect(&["logs", "never", "--tail", "1"], 0)), "never: line two\n");
    let all = stdout(&p.expect(&["logs"], 0));
    assert!(all.contains("exits | exits: giving up") && all.contains("slow  | slow: ready"), "{all}");
    let entries = json(&p.expect(&["logs", "--json", "--tail", "1"], 0));
    let first: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["service"].as_str().unwrap(), e["line"].as_str().unwrap()))
        .collect();
    assert_eq!(first, vec![("exits", "exits: giving up"), ("never", "never: line two"), ("slow", "slow: ready")]);
    assert_eq!(stdout(&p.expect(&["logs", "-f", "exits"], 0)), "exits: giving up\n");
}

#[test]
fn a_dependency_that_never_gets_healthy_fails_compose_and_is_diagnosed() {
    let p = TestProject::new();
    let out = p.expect(&["up", "dependent"], 3);
    let err = stderr(&out);
    // compose either fails on the unhealthy dependency itself, or olmisctl stops it first.
    assert!(
        err.contains("`docker-compose up -d dependent` failed") || err.contains("docker-compose up: stopped"),
        "{err}"
    );
    assert!(err.contains("never: unhealthy\n  last health check (exit 1): probe: not ready yet"), "{err}");
    assert!(err.contains("dependent: not"), "{err}");
    assert!(p.inspect("never")["State"]["Running"].as_bool().unwrap());
}

#[test]
fn a_service_still_starting_at_its_timeout_exits_4() {
    let p = TestProject::with_env("OLMIS_TEST_READY_AFTER=60\n");
    let out = p.expect(&["up", "slow", "--timeout", "2"], 4);
    let err = stderr(&out);
    assert!(err.contains("timed out after 2s waiting for slow to become ready"), "{err}");
    assert!(err.contains("slow: not ready after 2s (health: starting)"), "{err}");
    assert!(err.contains("    | slow: starting"), "{err}");
    assert!(err.contains("--timeout"), "{err}");
}

#[test]
fn restart_waits_for_health_again() {
    let p = TestProject::new();
    p.expect(&["up", "slow"], 0);
    let before = p.inspect("slow")["State"]["StartedAt"].as_str().unwrap().to_string();

    let report = json(&p.expect(&["restart", "slow", "--json"], 0));
    assert_eq!(report["services"][0]["status"], "healthy");
    assert!(report["services"][0]["seconds"].as_f64().unwrap() >= 3.0, "restart waited for the check: {report}");
    let after = p.inspect("slow");
    assert!(after["State"]["StartedAt"].as_str().unwrap() > before.as_str(), "the container was restarted");
    assert_eq!(after["State"]["Health"]["Status"], "healthy");

    let err = stderr(&p.expect(&["restart", "never"], 2));
    assert!(err.contains("no container for `never`"), "{err}");
    assert!(err.contains("olmisctl up never"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_returns_output_and_exit_code() {
    use olmisctl::clients::docker::Engine;
    use olmisctl::compose::{Project, Stack};
    use olmisctl::settings::Settings;

    let p = TestProject::new();
    p.expect(&["up", "slow"], 0);
    let env = [("OLMIS_RUNTIME".to_string(), "compose".to_string())].into_iter().collect();
    let settings = Settings::load(p.path(), &p.path().join(".env"), &[], &env).unwrap();
    let project = Project::from_settings(&settings, "test").unwrap();
    assert_eq!(project.name, p.name);
    let engine = Engine::connect_to(stack().get("DOCKER_HOST"), false).await.unwrap();
    let driver = Stack { project, engine };

    let out = driver.exec("slow", &["sh", "-c", "echo out; echo err >&2; exit 7"], &[]).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str(), out.stderr.as_str()), (7, "out\n", "err\n"));
    assert!(!out.success());
    let out = driver
        .exec("slow", &["sh", "-c", "echo \"$GREETING\"; cat /tmp/ready"], &["GREETING=hi".into()])
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "hi\n"));

    let err = driver.exec("never", &["true"], &[]).await.unwrap_err();
    assert!(err.to_string().contains("no container for `never`"), "{err}");
    assert!(err.hint().unwrap().contains("olmisctl up never"), "{err:?}");
}

#[test]
fn down_keeps_volumes_and_reset_deletes_them_after_confirmation() {
    let p = TestProject::new();
    p.expect(&["up", "slow"], 0);
    let id = p.inspect("slow")["Id"].as_str().unwrap().to_string();
    docker_ok(&["exec", &id, "sh", "-c", "echo kept > /data/marker"]);

    let out = stdout(&p.expect(&["down"], 0));
    assert!(out.contains("Stopped and removed 1 container"), "{out}");
    assert!(out.contains(&p.volume()), "{out}");
    assert!(p.container_ids().is_empty(), "down removed the containers");
    assert!(p.volume_exists(), "down keeps volumes");

    p.expect(&["up", "slow"], 0);
    let id = p.inspect("slow")["Id"].as_str().unwrap().to_string();
    assert_eq!(docker_ok(&["exec", &id, "cat", "/data/marker"]), "kept");

    // No terminal to ask on: refused, nothing deleted.
    let err = stderr(&p.expect(&["reset"], 2));
    assert!(err.contains("stdin is not a terminal") && err.contains("--yes"), "{err}");
    assert!(p.volume_exists());
    assert_eq!(p.container_ids().len(), 1);

    let report = json(&p.expect(&["reset", "--yes", "--json"], 0));
    assert_eq!(report["removed_volumes"], serde_json::json!([p.volume()]));
    assert!(!p.volume_exists(), "reset deleted the volume");
    assert!(p.container_ids().is_empty());

    // Both are idempotent.
    p.expect(&["reset", "--yes"], 0);
    let out = stdout(&p.expect(&["down"], 0));
    assert!(out.contains("No containers were running"), "{out}");
}

#[test]
fn compat_overlay_is_added_when_asked_for() {
    let p = TestProject::with_env("OLMIS_COMPOSE_COMPAT=on\nOLMIS_TEST_READY_AFTER=0\n");
    let out = p.expect(&["up", "slow", "--json"], 0);
    assert_eq!(json(&out)["compat_overlay"], true);
    assert!(
        stderr(&out).contains("Adding compose/docker-compose.compat.yml: OLMIS_COMPOSE_COMPAT=on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.inspect("slow")["HostConfig"]["SecurityOpt"], serde_json::json!(["seccomp=unconfined"]));
}

#[test]
fn build_builds_the_images_of_the_services_asked_for() {
    let p = TestProject::new();
    let out = p.expect(&["build", "slow", "--json"], 0);
    assert_eq!(json(&out)["services"], serde_json::json!(["slow"]));
    let v1 = format!("{}_slow", p.name);
    let v2 = format!("{}-slow", p.name);
    assert!(
        docker(&["image", "inspect", &v1]).status.success() || docker(&["image", "inspect", &v2]).status.success(),
        "compose built the image"
    );
    let err = stderr(&p.expect(&["build", "nope"], 2));
    assert!(err.contains("no service `nope` in the compose project; it has: dependent, exits, never, slow"), "{err}");
}

#[test]
fn preflight_stops_before_compose_with_what_to_do() {
    let p = TestProject::new();
    let err = stderr(&p.expect(&["up", "nope"], 2));
    assert!(err.contains("no service `nope`"), "{err}");

    let out = p.olmisctl().args(["up"]).env("OLMIS_COMPOSE_CMD", "/no/such/compose").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OLMIS_COMPOSE_CMD=/no/such/compose: `/no/such/compose` is not an executable"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        p.path().join(".env"),
        format!("COMPOSE_PROJECT_NAME={}\nOLMIS_TEST_NETWORK={}\n", p.name, p.network),
    )
    .unwrap();
    let err = stderr(&p.expect(&["up"], 2));
    assert!(err.contains("needs OLMIS_TEST_SECRET but it is empty or not set"), "{err}");
    assert!(err.contains("olmisctl init"), "{err}");

    std::fs::remove_file(p.path().join(".env")).unwrap();
    let out = p.olmisctl().args(["up"]).env("COMPOSE_PROJECT_NAME", &p.name).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(".env: does not exist"), "{}", stderr(&out));
    assert!(stderr(&out).contains("olmisctl init"), "{}", stderr(&out));

    assert!(p.container_ids().is_empty(), "nothing was started");
}

#[test]
fn an_unreachable_engine_is_a_clear_error() {
    let p = TestProject::new();
    for command in [&["ps"][..], &["up"], &["logs"], &["down"], &["restart"]] {
        let out =
            p.olmisctl().args(command).env("DOCKER_HOST", "unix:///nonexistent/olmis/docker.sock").output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{command:?}: {err}");
        assert!(
            err.contains("cannot reach the Docker engine at unix:///nonexistent/olmis/docker.sock: no socket there"),
            "{command:?}: {err}"
        );
        assert!(err.contains("start Docker") && err.contains("DOCKER_HOST"), "{command:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = p.olmisctl().args(["ps", "--json"]).env("DOCKER_HOST", "tcp://127.0.0.1:1").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["error"]["kind"], "service");
}

#[test]
fn external_mode_manages_no_containers() {
    let p = TestProject::new();
    for command in ["up", "down", "ps", "logs", "restart", "reset", "build"] {
        let out = p.olmisctl().arg(command).env("OLMIS_RUNTIME", "external").output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains(&format!(
                "OLMIS_RUNTIME=external: olmisctl manages no containers in this mode, so `olmisctl {command}`"
            )),
            "{err}"
        );
    }
}
