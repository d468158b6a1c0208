//! Finding the dbt executable and running it as a child process whose output streams to the user.
//!
//! dbt runs on this host: OLMIS_DBT, else `dbt` on PATH (the Airflow image sets OLMIS_DBT to its
//! dbt venv, so `olmisctl dbt-build` inside that container needs nothing else). In compose mode
//! without either, `container` runs the build in the Airflow container instead.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::invocation::Environment;
use crate::error::{Error, Result};
use crate::output::Progress;

pub const SERVICE: &str = "dbt";

/// How many of the last output lines an error message quotes.
const TAIL_LINES: usize = 15;

/// The dbt executable: OLMIS_DBT when set, else the first `dbt` on `path` (the PATH variable).
pub fn find_dbt(configured: Option<&Path>, path: Option<&OsStr>) -> Result<PathBuf> {
    if let Some(exe) = configured {
        return if exe.is_file() {
            Ok(exe.to_path_buf())
        } else {
            Err(Error::file(exe, "does not exist (OLMIS_DBT)")
                .with_hint("point OLMIS_DBT at the dbt executable of a venv with dbt-core 1.11 and dbt-clickhouse"))
        };
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("dbt"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            Error::usage("dbt is not installed: no `dbt` on PATH and OLMIS_DBT is not set").with_hint(
                "pip install 'dbt-core~=1.11.0' 'dbt-clickhouse==1.10.3' (in a venv), then set OLMIS_DBT to its bin/dbt",
            )
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How a dbt process ended.
#[derive(Debug)]
pub struct Finished {
    /// dbt's exit code: 0 success, 1 some node failed, 2 dbt itself failed; `None` if killed.
    pub code: Option<i32>,
    /// Its last lines of output, for error messages.
    pub tail: Vec<String>,
}

impl Finished {
    pub fn tail_text(&self) -> String {
        self.tail.join("\n")
    }
}

/// Runs dbt in `dir` and shows each line it prints above the progress line. The child is killed
/// if olmisctl is interrupted.
pub async fn run(exe: &Path, dir: &Path, args: &[String], env: &Environment, progress: &Progress) -> Result<Finished> {
    let mut command = Command::new(exe);
    command.args(args).current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.kill_on_drop(true);
    for name in &env.remove {
        command.env_remove(name);
    }
    command.envs(env.set.iter().map(|(k, v)| (k, v)));
    command.envs(env.secrets.iter().map(|(k, v)| (k, v.expose())));
    let mut child = command.spawn().map_err(|e| {
        Error::service(SERVICE, format!("cannot start {}: {e}", exe.display()))
            .with_hint("check OLMIS_DBT, or that dbt on PATH runs")
    })?;
    // Both pipes exist: they were requested as piped just above.
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::service(SERVICE, "dbt's output pipes are missing"));
    };
    let (mut out_reader, mut err_reader) = (BufReader::new(stdout), BufReader::new(stderr));
    let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        let line = tokio::select! {
            line = next_line(&mut out_reader, &mut out_buf), if out_open => line.or_else(|| { out_open = false; None }),
            line = next_line(&mut err_reader, &mut err_buf), if err_open => line.or_else(|| { err_open = false; None }),
        };
        if let Some(line) = line {
            progress.log(&line);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child.wait().await.map_err(|e| Error::service(SERVICE, format!("waiting for dbt failed: {e}")))?;
    Ok(Finished { code: status.code(), tail: tail.into() })
}

/// The next line without its line ending (invalid UTF-8 replaced), or `None` at the end.
async fn next_line(reader: &mut (impl AsyncBufRead + Unpin), buf: &mut Vec<u8>) -> Option<String> {
    buf.clear();
    match reader.read_until(b'\n', buf).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(String::from_utf8_lossy(buf).trim_end_matches(['\n', '\r']).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbt_is_found_on_path_or_through_olmis_dbt() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("dbt");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let not_executable = find_dbt(None, Some(dir.path().as_os_str()));
        assert!(not_executable.is_err());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(find_dbt(None, Some(&path)).unwrap(), exe);
        assert_eq!(find_dbt(Some(&exe), None).unwrap(), exe);
        let err = find_dbt(Some(Path::new("/no/dbt")), Some(&path)).unwrap_err();
        assert!(err.to_string().contains("OLMIS_DBT"), "{err}");
        let err = find_dbt(None, None).unwrap_err();
        assert!(err.hint().unwrap().contains("pip install"), "{err}");
    }
}
