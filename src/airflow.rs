//! The platform's Airflow side: which DAGs must exist, and `verify airflow` (optionally triggering a
//! `platform_refresh` run and following it to the end).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checks::{Check, CheckReport, Level};
use crate::clients::airflow::{self, Airflow, TaskInstance};
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};

pub const REFRESH_DAG: &str = "platform_refresh";
pub const BACKFILL_DAG: &str = "backfill";
pub const DAGS: &[&str] = &[REFRESH_DAG, BACKFILL_DAG];

/// Lines of a failed task's log shown to the user: enough for a dbt error, not a wall of text.
const LOG_TAIL: usize = 30;

#[derive(Debug, Serialize)]
pub struct RunOutcome {
    pub dag_id: String,
    pub run_id: String,
    pub state: String,
    pub tasks: Vec<TaskInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_task_log: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AirflowReport {
    #[serde(flatten)]
    pub checks: CheckReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunOutcome>,
}

impl Report for AirflowReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = self.checks.human(styles);
        if let Some(run) = &self.run {
            out.push_str(&format!("\nrun {} of {}: {}\n", run.run_id, run.dag_id, run.state));
            for task in &run.tasks {
                out.push_str(&format!("  {:16} {}\n", task.task_id, task.state.as_deref().unwrap_or("none")));
            }
            if !run.failed_task_log.is_empty() {
                out.push_str(&format!("{}\n", styles.dim.apply_to("last lines of the failed task's log:")));
                for line in &run.failed_task_log {
                    out.push_str(&format!("  | {line}\n"));
                }
            }
        }
        out
    }

    fn exit(&self) -> Exit {
        self.checks.exit()
    }
}

/// The components of Airflow's health report that are not healthy (empty: all are).
pub fn unhealthy_parts(h: &airflow::Health) -> Vec<&'static str> {
    let healthy = |c: Option<&airflow::ComponentHealth>| c.and_then(|c| c.status.as_deref()) == Some("healthy");
    [
        ("metadatabase", healthy(Some(&h.metadatabase))),
        ("scheduler", healthy(Some(&h.scheduler))),
        ("dag processor", healthy(h.dag_processor.as_ref())),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect()
}

/// The checks that need no run: health, login, DAGs registered and importable, refresh unpaused.
pub async fn check(ctx: &Ctx) -> (Vec<Check>, Option<Airflow>) {
    let mut checks = Vec::new();
    match airflow::health(&ctx.settings).await {
        Ok(h) => {
            let sick = unhealthy_parts(&h);
            checks.push(if sick.is_empty() {
                Check::pass("health", "metadatabase, scheduler and dag processor healthy")
            } else {
                Check::fail("health", format!("not healthy: {}", sick.join(", ")))
                    .with_hint("look at the Airflow logs (`olmisctl logs airflow-scheduler` in compose mode)")
            });
        }
        Err(e) => {
            checks.push(Check::fail("health", e.to_string()).with_hint(e.hint().unwrap_or("check AIRFLOW_URL")));
            return (checks, None);
        }
    }
    let client = match Airflow::login(&ctx.settings).await {
        Ok(c) => {
            checks.push(Check::pass("login", format!("token issued for {}", ctx.settings.airflow.admin_user)));
            c
        }
        Err(e) => {
            checks.push(Check::fail("login", e.to_string()).with_hint(e.hint().unwrap_or("")));
            return (checks, None);
        }
    };
    let import_errors = match client.import_errors().await {
        Ok(errors) => errors,
        Err(e) => {
            checks.push(Check::fail("import errors", e.to_string()));
            Vec::new()
        }
    };
    for error in &import_errors {
        let file = std::path::Path::new(&error.filename).file_name().map(|f| f.to_string_lossy().to_string());
        let last = error.stack_trace.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        checks.push(
            Check::fail(format!("import {}", file.unwrap_or_default()), last.to_string())
                .with_hint("fix the DAG file; the full trace is in the Airflow UI under import errors"),
        );
    }
    for dag_id in DAGS {
        match client.dag(dag_id).await {
            Ok(Some(dag)) if dag.has_import_errors => {
                checks.push(Check::fail(format!("dag {dag_id}"), "registered, but its file fails to import"))
            }
            Ok(Some(dag)) => {
                checks.push(Check::pass(format!("dag {dag_id}"), "registered"));
                if *dag_id == REFRESH_DAG {
                    checks.push(if dag.is_paused {
                        Check::fail("schedule", "platform_refresh is paused: marts won't refresh")
                            .with_hint("`olmisctl setup` unpauses it; or unpause it in the Airflow UI")
                    } else {
                        Check::pass("schedule", "platform_refresh is unpaused")
                    });
                }
            }
            Ok(None) => checks.push(
                Check::fail(format!("dag {dag_id}"), "not registered")
                    .with_hint("check that airflow/dags is the DAG folder; the DAG processor picks new files up within its refresh interval"),
            ),
            Err(e) => checks.push(Check::fail(format!("dag {dag_id}"), e.to_string())),
        }
    }
    (checks, Some(client))
}

/// Triggers `dag_id` and follows the run until it ends (or `timeout`), with a progress line.
pub async fn run_and_wait(ctx: &Ctx, client: &Airflow, dag_id: &str, timeout: Duration) -> Result<RunOutcome> {
    let run_id = format!("olmisctl__{}", humantime::format_rfc3339_seconds(std::time::SystemTime::now()));
    let run = client.trigger(dag_id, &run_id, serde_json::json!({})).await?;
    let progress = ctx.out.progress(format!("running {dag_id}"));
    let started = Instant::now();
    loop {
        let current = client.dag_run(dag_id, &run.dag_run_id).await?;
        let tasks = client.task_instances(dag_id, &run.dag_run_id).await?;
        let summary: Vec<String> =
            tasks.iter().map(|t| format!("{} {}", t.task_id, t.state.as_deref().unwrap_or("queued"))).collect();
        progress.update(summary.join(", "));
        if matches!(current.state.as_str(), "success" | "failed") {
            let mut failed_task_log = Vec::new();
            if let Some(failed) =
                tasks.iter().find(|t| matches!(t.state.as_deref(), Some("failed" | "upstream_failed")))
            {
                let lines = client.task_log(dag_id, &run.dag_run_id, &failed.task_id, failed.try_number.max(1)).await?;
                let skip = lines.len().saturating_sub(LOG_TAIL);
                failed_task_log = lines.into_iter().skip(skip).collect();
            }
            if current.state == "success" {
                progress.finish("success")
            } else {
                progress.fail("failed")
            }
            return Ok(RunOutcome {
                dag_id: dag_id.into(),
                run_id: run.dag_run_id,
                state: current.state,
                tasks,
                failed_task_log,
            });
        }
        if started.elapsed() > timeout {
            progress.fail("still running");
            return Err(Error::Timeout {
                what: format!("{dag_id} run {}", run.dag_run_id),
                after_secs: timeout.as_secs(),
                detail: summary.join(", "),
                hint: Some("the run goes on in Airflow; follow it in the UI".into()),
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn verify(ctx: &Ctx, trigger: bool, timeout: Duration) -> Result<AirflowReport> {
    let (mut checks, client) = check(ctx).await;
    let mut run = None;
    if trigger && let Some(client) = client {
        if checks.iter().any(|c| c.level == Level::Fail && (c.name.starts_with("dag ") || c.name == "schedule")) {
            checks.push(Check::fail("run", "not triggered: the DAG is missing, broken or paused"));
        } else {
            let outcome = run_and_wait(ctx, &client, REFRESH_DAG, timeout).await?;
            checks.push(if outcome.state == "success" {
                Check::pass("run", format!("{} succeeded", outcome.run_id))
            } else {
                let failed =
                    outcome.tasks.iter().filter(|t| t.state.as_deref() == Some("failed")).map(|t| t.task_id.clone());
                Check::fail("run", format!("{} failed at {}", outcome.run_id, failed.collect::<Vec<_>>().join(", ")))
            });
            run = Some(outcome);
        }
    }
    Ok(AirflowReport { checks: CheckReport::new("Airflow", checks), run })
}
