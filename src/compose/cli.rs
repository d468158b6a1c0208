//! Runs the compose CLI: `OLMIS_COMPOSE_CMD` if set, else `docker compose` (v2), else
//! `docker-compose` (v1).

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::args::split_command;
use crate::error::{Error, Result};
use crate::output::Progress;

const SERVICE: &str = "compose";

/// Lines of compose's stderr kept for an error message.
const ERROR_TAIL: usize = 25;

#[derive(Debug, Clone)]
pub struct ComposeCli {
    program: String,
    prefix: Vec<String>,
    /// How the user would type it: "docker compose", "docker-compose".
    pub display: String,
    /// Warnings already shown: `config` and `up` repeat the same ones.
    warned: Arc<Mutex<BTreeSet<String>>>,
}

impl ComposeCli {
    /// Finds the compose command. Only the v2 plugin is run to probe it (`docker compose version`,
    /// quick); v1 is Python and takes a second to start, so it is found on PATH instead.
    pub async fn detect(override_cmd: Option<&str>) -> Result<ComposeCli> {
        let cli = |program: String, prefix: Vec<String>| {
            let display = std::iter::once(program.as_str())
                .chain(prefix.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            ComposeCli { program, prefix, display, warned: Arc::default() }
        };
        if let Some(cmd) = override_cmd {
            let (program, prefix) = split_command(cmd).ok_or_else(|| {
                Error::usage("OLMIS_COMPOSE_CMD is blank").with_hint("unset it, or set e.g. docker-compose")
            })?;
            if find_program(&program).is_none() {
                return Err(Error::usage(format!("OLMIS_COMPOSE_CMD={}: `{program}` is not an executable on PATH", cmd.trim()))
                    .with_hint("set OLMIS_COMPOSE_CMD to a working compose command, or unset it to use `docker compose` or `docker-compose`"));
            }
            return Ok(cli(program, prefix));
        }
        if find_program("docker").is_some() {
            let v2 = cli("docker".into(), vec!["compose".into()]);
            if v2.plugin_works().await {
                return Ok(v2);
            }
        }
        if find_program("docker-compose").is_some() {
            return Ok(cli("docker-compose".into(), Vec::new()));
        }
        Err(Error::service(SERVICE, "found neither `docker compose` nor `docker-compose`").with_hint(
            "install the Docker Compose plugin (https://docs.docker.com/compose/install/) or docker-compose, or set OLMIS_COMPOSE_CMD",
        ))
    }

    async fn plugin_works(&self) -> bool {
        let mut cmd = self.command();
        cmd.arg("version").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        matches!(tokio::time::timeout(Duration::from_secs(30), cmd.status()).await, Ok(Ok(status)) if status.success())
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix).kill_on_drop(true);
        cmd
    }

    /// Runs compose with its output captured and returns stdout. Each stderr line (compose's
    /// progress) goes to `progress` as it comes; the last ones make the error on failure.
    pub async fn run(
        &self,
        args: &[OsString],
        env: &[(String, String)],
        cwd: &Path,
        progress: Option<&Progress>,
    ) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(args).envs(env.iter().cloned()).current_dir(cwd);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        tracing::debug!(command = %self.display, args = ?args, "running compose");
        let mut child = cmd.spawn().map_err(|e| self.spawn_error(&e))?;
        let (Some(mut stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(Error::service(SERVICE, "cannot read compose's output"));
        };
        let read_stdout = async {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text).await;
            text
        };
        let read_stderr = async {
            let mut tail = VecDeque::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.trim_end().to_string();
                if line.is_empty() {
                    continue;
                }
                if let Some(progress) = progress {
                    progress.update(&line);
                }
                // Unset variables and deprecations: worth seeing even when compose succeeds.
                if is_warning(&line) && self.warned.lock().is_ok_and(|mut seen| seen.insert(line.clone())) {
                    tracing::warn!(target: "olmisctl::compose", "{}: {line}", self.display);
                } else {
                    tracing::debug!(target: "olmisctl::compose", "{line}");
                }
                if tail.len() == ERROR_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            tail
        };
        let (stdout_text, tail, status) = tokio::join!(read_stdout, read_stderr, child.wait());
        let status = status.map_err(|e| self.spawn_error(&e))?;
        if status.success() {
            return Ok(stdout_text);
        }
        Err(self.failure(args, &status, tail.into_iter().collect::<Vec<_>>().join("\n")))
    }

    /// Runs compose with its output going to our stderr (stdout stays clean for `--json`), for
    /// long commands whose own progress the user wants to see (`build`).
    pub async fn run_visible(&self, args: &[OsString], env: &[(String, String)], cwd: &Path) -> Result<()> {
        let mut cmd = self.command();
        cmd.args(args).envs(env.iter().cloned()).current_dir(cwd).stdin(Stdio::null());
        let stderr = std::io::stderr();
        let as_stdout =
            std::os::fd::AsFd::as_fd(&stderr).try_clone_to_owned().map(Stdio::from).unwrap_or(Stdio::inherit());
        cmd.stdout(as_stdout).stderr(Stdio::inherit());
        tracing::debug!(command = %self.display, args = ?args, "running compose");
        let status = cmd.status().await.map_err(|e| self.spawn_error(&e))?;
        if status.success() { Ok(()) } else { Err(self.failure(args, &status, "(its output is above)".into())) }
    }

    fn spawn_error(&self, err: &std::io::Error) -> Error {
        Error::service(SERVICE, format!("cannot run `{}`: {err}", self.display))
    }

    fn failure(&self, args: &[OsString], status: &std::process::ExitStatus, detail: String) -> Error {
        let verb = verb(args);
        let code = status.code().map(|c| format!("exit code {c}")).unwrap_or_else(|| status.to_string());
        Error::service(SERVICE, format!("`{} {verb}` failed ({code}):\n{detail}", self.display))
    }
}

/// An executable named like this: a path as given, or a file in one of PATH's directories.
fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.contains('/') {
        let path = Path::new(program).to_path_buf();
        return executable(&path).then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs).map(|dir| dir.join(program)).find(|path| executable(path))
}

/// v1 writes "WARNING: ..." (unprefixed when not on a terminal), v2 "WARN[0000] ...".
fn is_warning(line: &str) -> bool {
    line.starts_with("WARNING") || line.starts_with("WARN[") || line.contains("variable is not set")
}

/// The subcommand and what follows it, for messages (the arguments before it are paths).
fn verb(args: &[OsString]) -> String {
    let words: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut i = 0;
    while i < words.len() && words[i].starts_with('-') {
        i += 2;
    }
    words.get(i..).map(|rest| rest.join(" ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_subcommand_not_the_paths() {
        let args: Vec<OsString> = ["-p", "x", "-f", "/a/b.yml", "--env-file", "/a/.env", "up", "-d", "kafka"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(verb(&args), "up -d kafka");
    }

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("/no/such/compose").is_none());
        assert!(find_program("no-such-compose-command").is_none());
    }

    #[test]
    fn warnings_of_both_versions_are_recognized() {
        assert!(is_warning("WARNING: The FOO variable is not set. Defaulting to a blank string."));
        assert!(is_warning("WARN[0000] The \"FOO\" variable is not set. Defaulting to a blank string."));
        assert!(is_warning("The FOO variable is not set. Defaulting to a blank string."));
        assert!(!is_warning("Creating olmis_kafka_1 ... done"));
    }
}
