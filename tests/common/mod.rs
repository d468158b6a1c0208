//! The integration test harness: the real-service stack's endpoints, an `olmisctl` command wired to
//! them, unique names for isolation, and independent ground-truth probes (psql, ClickHouse over
//! curl) so assertions don't trust the code under test.
//!
//! Tests never skip: without the stack they fail with one line saying how to start it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub use assert_cmd::Command;

pub mod private_postgres;

pub struct Stack {
    pub env: BTreeMap<String, String>,
    pub env_path: PathBuf,
}

fn env_file_path() -> PathBuf {
    if let Ok(path) = std::env::var("OLMIS_STACK_ENV") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let run = std::env::var("OLMIS_STACK_RUN").unwrap_or_else(|_| format!("{home}/.cache/olmisctl-stack/run"));
    PathBuf::from(run).join("stack.env")
}

/// The running test stack. Panics (fails the test) with a one-line fix when it is not up.
pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let env_path = env_file_path();
        let text = std::fs::read_to_string(&env_path).unwrap_or_else(|_| {
            panic!(
                "the test stack is not up ({} is missing): run `tests/stack/stack.sh install && tests/stack/stack.sh up`, or the whole suite with `tests/run.sh`",
                env_path.display()
            )
        });
        let env = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .collect();
        Stack { env, env_path }
    })
}

/// A name unique to this test process and call: tests run in parallel against one stack.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{n}_{:x}", std::process::id(), nanos % 0xfffff)
}

/// `olmisctl` with an empty environment except PATH/HOME, so a developer's own variables never
/// leak into a test. Use [`Stack::olmisctl`] for one wired to the stack.
pub fn olmisctl_bare(project_dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("olmisctl"));
    cmd.env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.env("NO_COLOR", "1").current_dir(project_dir);
    cmd
}

impl Stack {
    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or_else(|| panic!("{key} is not in {}", self.env_path.display()))
    }

    /// `olmisctl` run in `project_dir` with every stack variable in its environment.
    pub fn olmisctl(&self, project_dir: &Path) -> Command {
        let mut cmd = olmisctl_bare(project_dir);
        cmd.envs(&self.env);
        cmd
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        Path::new(self.get("OLMIS_STACK_BIN")).join(name)
    }

    /// Runs SQL in a database of the stack's PostgreSQL as the superuser; rows as tab-separated lines.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let url = self.get("OLMIS_STACK_PG_ADMIN_URL").replacen("/postgres?", &format!("/{database}?"), 1);
        let output = StdCommand::new("psql")
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "\t", &url, "-c", sql])
            .output()
            .expect("psql runs");
        assert!(output.status.success(), "psql failed on {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim_end().to_string()
    }

    /// A fresh database for one test, dropped never (the stack is wiped as a whole).
    pub fn create_database(&self, prefix: &str) -> String {
        let name = unique(prefix).to_lowercase();
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// Runs SQL in ClickHouse as the stack's user over HTTP (curl), returning the TSV body.
    pub fn clickhouse(&self, sql: &str) -> String {
        let output = StdCommand::new("curl")
            .args(["-sS", "--fail-with-body", "--data-binary", "@-"])
            .arg("-H")
            .arg(format!("X-ClickHouse-User: {}", self.get("CLICKHOUSE_USER")))
            .arg("-H")
            .arg(format!("X-ClickHouse-Key: {}", self.get("CLICKHOUSE_PASSWORD")))
            .arg(self.get("CLICKHOUSE_URL"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin is piped").write_all(sql.as_bytes())?;
                child.wait_with_output()
            })
            .expect("curl runs");
        assert!(
            output.status.success(),
            "ClickHouse failed on {sql:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim_end().to_string()
    }
}

impl Stack {
    /// Runs a statement in ClickHouse without asserting, for cleanup in `Drop` (a panic there
    /// while unwinding aborts the whole run). curl reads its options from stdin so the password
    /// stays out of the process list.
    pub fn clickhouse_quietly(&self, sql: &str) {
        use std::io::Write;
        let config = format!(
            "silent\noutput = \"/dev/null\"\nheader = \"X-ClickHouse-User: {}\"\nheader = \"X-ClickHouse-Key: {}\"\n\
             data-binary = \"{sql}\"\nurl = \"{}\"\n",
            self.get("CLICKHOUSE_USER"),
            self.get("CLICKHOUSE_PASSWORD"),
            self.get("CLICKHOUSE_URL")
        );
        let child = StdCommand::new("curl").args(["--config", "-"]).stdin(std::process::Stdio::piped()).spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(config.as_bytes());
            }
            let _ = child.wait();
        }
    }

    /// Deletes a Kafka Connect connector, retrying while the shared worker rebalances (409).
    /// Never panics: used in cleanup.
    pub fn delete_connector(&self, name: &str) {
        let url = format!("{}/connectors/{name}", self.get("CONNECT_URL").trim_end_matches('/'));
        for _ in 0..30 {
            let out = StdCommand::new("curl")
                .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-X", "DELETE", &url])
                .output();
            let code = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
            if code == "204" || code == "404" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }

    /// Drops a replication slot once nothing reads it: the walsender outlives a deleted
    /// connector's task briefly. False when it is still there after 30 s.
    pub fn drop_slot_when_idle(&self, slot: &str) -> bool {
        let drop_slot = format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}' AND NOT active"
        );
        let left = format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'");
        for _ in 0..60 {
            self.psql("postgres", &drop_slot);
            if self.psql("postgres", &left) == "0" {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        false
    }
}

/// Deletes a test's connector when the test ends, whatever happened, and its topics (named
/// `<connector>.<schema>.<table>`) unless the test failed and they are evidence.
pub struct ConnectorGuard(pub String);

impl Drop for ConnectorGuard {
    fn drop(&mut self) {
        stack().delete_connector(&self.0);
        if !std::thread::panicking() {
            let _ = StdCommand::new(stack().bin("kafka-topics"))
                .args(["--bootstrap-server", stack().get("KAFKA_BOOTSTRAP_SERVERS"), "--delete", "--topic"])
                .arg(format!("{}\\..*", self.0))
                .output();
        }
    }
}

/// A project directory holding a copy of the dbt runner project, as olmisctl's checkout has it.
pub fn project_with_runner() -> tempfile::TempDir {
    let project = tempfile::tempdir().expect("temp dir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&repo.join("dbt"), &project.path().join("dbt"), &["target", "dbt_packages", "logs"]);
    project
}

/// `out` of a command that must succeed; otherwise fails the test with what it printed.
pub fn succeeded(what: &str, out: std::process::Output) -> std::process::Output {
    assert!(out.status.success(), "{what}: {}\n{}", stdout(&out), stderr(&out));
    out
}

/// Polls `check` every 200 ms until it returns `Some`, or fails the test after `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// stdout of a finished command as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies a directory tree, leaving out entries with the names in `skip` (build output and the like).
pub fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target, skip);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
