//! dbt in the platform's Airflow container, for compose mode on a host without dbt.
//!
//! The Airflow image carries dbt, olmisctl and the runner project, and its environment carries the
//! platform's configuration (secrets included, from the compose env file). So rather than asking
//! every operator to install dbt, the host runs `olmisctl --json dbt-build` (or `dbt-test`) in that
//! container through the Docker driver, passes its progress on as it comes, and reads the summary
//! from its JSON. Nothing secret is on that command line.

use std::collections::VecDeque;

use super::process;
use super::results::{RunResults, RunSummary};
use super::run::Goal;
use super::verify;
use crate::checks::CheckReport;
use crate::clients::docker::OutputStream;
use crate::compose::Stack;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::settings::{Runtime, Settings};

/// The compose service whose container runs the build: any Airflow service would do; the
/// scheduler is the one that runs the scheduled refreshes, so its image is known to work.
pub const SERVICE: &str = "airflow-scheduler";

/// Where the image keeps the project (runner project, mounted packages).
const PROJECT_DIR: &str = "/opt/olmis";

/// How many of the last lines an error quotes.
const TAIL_LINES: usize = 15;

/// Compose mode and no dbt on this host (no OLMIS_DBT, no `dbt` on PATH): dbt runs in the container.
pub fn wanted(settings: &Settings) -> bool {
    settings.runtime == Runtime::Compose
        && process::find_dbt(settings.dbt.executable.as_deref(), std::env::var_os("PATH").as_deref()).is_err()
}

fn olmisctl() -> Vec<String> {
    ["olmisctl", "--json", "--project-dir", PROJECT_DIR].map(String::from).to_vec()
}

/// The command run in the container.
pub fn command(goal: Goal, select: Option<&str>) -> Vec<String> {
    let mut cmd = olmisctl();
    match goal {
        Goal::Build { full_refresh } => {
            cmd.push("dbt-build".into());
            if full_refresh {
                cmd.push("--full-refresh".into());
            }
        }
        Goal::Test => cmd.push("dbt-test".into()),
    }
    if let Some(select) = select {
        cmd.extend(["--select".to_string(), select.to_string()]);
    }
    cmd
}

/// Runs the build or tests in the container and returns their summary.
pub async fn summary(ctx: &Ctx, goal: Goal, select: Option<String>) -> Result<RunSummary> {
    let stack = Stack::connect(&ctx.settings, "dbt-build").await?;
    let cmd = command(goal, select.as_deref());
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let progress = ctx.out.progress(format!("dbt in the {SERVICE} container (no dbt on this host)"));
    let mut stdout = Vec::new();
    let mut pending = Vec::new();
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let code = stack
        .exec_streaming(SERVICE, &args, |stream, bytes| match stream {
            OutputStream::Stdout => stdout.extend_from_slice(bytes),
            OutputStream::Stderr => {
                pending.extend_from_slice(bytes);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    progress.log(&line);
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        })
        .await?;
    let parsed = serde_json::from_slice::<RunSummary>(&stdout);
    match (code, parsed) {
        (0 | 1, Ok(summary)) => {
            progress.finish(if code == 0 { "done" } else { "failures" });
            Ok(summary)
        }
        (code, _) => {
            progress.fail(format!("exit code {code}"));
            let said = String::from_utf8_lossy(&stdout);
            let mut lines: Vec<&str> = tail.iter().map(String::as_str).collect();
            lines.extend(said.lines().rev().take(TAIL_LINES).collect::<Vec<_>>().into_iter().rev());
            Err(Error::service(
                process::SERVICE,
                format!(
                    "`{}` in the {SERVICE} container failed (exit code {code}):\n{}",
                    cmd.join(" "),
                    lines.join("\n")
                ),
            )
            .with_hint(format!(
                "install dbt on this host (set OLMIS_DBT) to run it here, or look at `olmisctl logs {SERVICE}`"
            )))
        }
    }
}

/// `verify dbt` as the container sees it: its last run and the marts it built.
pub async fn verify(settings: &Settings) -> Result<CheckReport> {
    let stack = Stack::connect(settings, "verify dbt").await?;
    let mut cmd = olmisctl();
    cmd.extend(["verify".to_string(), "dbt".to_string()]);
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = stack.exec(SERVICE, &args, &[]).await?;
    serde_json::from_str(&out.stdout).map_err(|_| {
        Error::service(
            process::SERVICE,
            format!(
                "`{}` in the {SERVICE} container failed (exit code {}): {}",
                cmd.join(" "),
                out.exit_code,
                out.stderr.trim()
            ),
        )
    })
}

/// The container's last dbt run (its run_results.json), `None` before the first one. The
/// artifacts live in the container (DBT_TARGET_PATH), so a recreated container starts over.
pub async fn last_run(settings: &Settings) -> Result<Option<(RunResults, RunSummary)>> {
    let stack = Stack::connect(settings, "dbt-build").await?;
    let cat = ["sh", "-c", "cat \"${DBT_TARGET_PATH:-/opt/olmis/dbt/target}/run_results.json\""];
    let out = stack.exec(SERVICE, &cat, &[]).await?;
    if !out.success() {
        return Ok(None);
    }
    let run: RunResults = serde_json::from_str(&out.stdout).map_err(|e| {
        Error::service(process::SERVICE, format!("the {SERVICE} container's run_results.json is not readable: {e}"))
    })?;
    Ok(Some(verify::summarize_last_run(run)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_forwards_the_goal_and_the_selection() {
        assert_eq!(
            command(Goal::Build { full_refresh: true }, Some("+mart_x")),
            ["olmisctl", "--json", "--project-dir", "/opt/olmis", "dbt-build", "--full-refresh", "--select", "+mart_x"]
        );
        assert_eq!(command(Goal::Test, None), ["olmisctl", "--json", "--project-dir", "/opt/olmis", "dbt-test"]);
    }
}
