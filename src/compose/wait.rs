//! Waiting until services are ready, with one live line per service, and the diagnosis (last health
//! check, last log lines) of those that are not.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::task::JoinHandle;

use super::Stack;
use super::readiness::{self, Readiness, Ready};
use crate::clients::docker::{Container, HealthCheckRun, RunState};
use crate::error::{Error, Result};
use crate::output::{Progress, ProgressGroup};

/// Log lines shown for a service that is not ready.
pub const LOG_LINES: u64 = 30;

const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct Target {
    pub service: String,
    /// `None`: the service's default ([`readiness::default_timeout`]).
    pub timeout: Option<Duration>,
    /// Its `depends_on`: compose doesn't create it before these are started (or healthy).
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    Running,
    Completed,
    Failed,
    TimedOut,
}

impl Status {
    pub fn is_ready(self) -> bool {
        matches!(self, Status::Healthy | Status::Running | Status::Completed)
    }
}

impl From<Ready> for Status {
    fn from(ready: Ready) -> Status {
        match ready {
            Ready::Healthy => Status::Healthy,
            Ready::Running => Status::Running,
            Ready::Completed => Status::Completed,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub service: String,
    pub status: Status,
    /// Seconds from the start of the wait to the outcome.
    pub seconds: f64,
    /// How long it was allowed to take once started.
    pub timeout_secs: u64,
    /// Why it is not ready (failed), or what it was doing (timed out).
    pub reason: Option<String>,
    pub last_health_check: Option<HealthCheckRun>,
    pub log_tail: Vec<String>,
}

/// A `compose up` running in the background, with its progress line.
pub struct ComposeRun {
    pub handle: JoinHandle<Result<()>>,
    pub line: Progress,
}

impl ComposeRun {
    async fn join(self) -> Result<()> {
        let result = self
            .handle
            .await
            .map_err(|e| Error::service("compose", format!("the compose task ended abnormally: {e}")))
            .and_then(|r| r);
        match &result {
            Ok(()) => self.line.finish("containers created and started"),
            Err(_) => self.line.fail("failed"),
        }
        result
    }
}

/// Waits for every target until it is ready, failed, or out of time. `compose` is a running
/// `compose up` (if any): until it ends only containers started after `since` are judged, and when
/// it fails, services still waiting fail with it. A service's timeout runs from when compose
/// started its container (or finished), not while compose still waits for its dependencies.
/// Returns the outcomes (in target order) and compose's error.
pub async fn wait_ready(
    stack: &Stack,
    group: &ProgressGroup,
    targets: &[Target],
    mut compose: Option<ComposeRun>,
    since: SystemTime,
) -> Result<(Vec<Outcome>, Option<Error>)> {
    let started = Instant::now();
    let mut pending: Vec<Pending> = targets
        .iter()
        .enumerate()
        .map(|(index, target)| Pending {
            index,
            target,
            progress: group.progress(target.service.clone()),
            clock: None,
            timeout: target.timeout.unwrap_or(readiness::MIN_TIMEOUT),
        })
        .collect();
    let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
    let mut compose_error = None;
    // When each container (by id and start time) was first seen running, on our clock.
    let mut first_running: HashMap<(String, Option<SystemTime>), Instant> = HashMap::new();
    loop {
        if compose.as_ref().is_some_and(|c| c.handle.is_finished())
            && let Some(run) = compose.take()
        {
            compose_error = run.join().await.err();
        }
        let containers = stack.containers().await?;
        for c in containers.iter().filter(|c| c.state == RunState::Running) {
            first_running.entry((c.id.clone(), c.started_at)).or_insert_with(Instant::now);
        }
        let settled = |c: &Container| {
            first_running.get(&(c.id.clone(), c.started_at)).is_some_and(|seen| seen.elapsed() >= readiness::SETTLE)
        };
        let judge_from = compose.is_some().then_some(since);
        let mut still_waiting = Vec::new();
        for mut p in pending {
            let mine: Vec<&Container> = containers.iter().filter(|c| c.service == p.target.service).collect();
            let started_by_compose = mine.iter().any(|c| c.started_at.is_some_and(|t| t >= since));
            if p.clock.is_none() && (compose.is_none() || started_by_compose) {
                p.clock = Some(Instant::now());
            }
            let waited = p.clock.map(|c| c.elapsed()).unwrap_or_default();
            p.timeout = p.target.timeout.unwrap_or_else(|| readiness::default_timeout(&mine));
            let verdict = match readiness::assess(&mine, judge_from, &settled) {
                Readiness::Ready(kind) => Ok(kind),
                Readiness::Failed(why) => Err((Status::Failed, why)),
                Readiness::Waiting(what) if compose_error.is_some() => {
                    Err((Status::Failed, format!("not ready when compose failed ({what})")))
                }
                Readiness::Waiting(what) if waited >= p.timeout => {
                    Err((Status::TimedOut, format!("not ready after {}s ({what})", p.timeout.as_secs())))
                }
                Readiness::Waiting(what) => {
                    p.progress.update(&what);
                    still_waiting.push(p);
                    continue;
                }
            };
            outcomes.push((p.index, conclude(stack, p, &mine, verdict, started.elapsed()).await));
        }
        pending = still_waiting;
        if pending.is_empty() {
            if let Some(run) = compose.take() {
                compose_error = run.join().await.err();
            }
            break;
        }
        // compose waits for a dependency that will not get ready: the rest will never be created.
        let not_ready: Vec<&str> =
            outcomes.iter().filter(|(_, o)| !o.status.is_ready()).map(|(_, o)| o.service.as_str()).collect();
        let waiting: Vec<(&str, &[String], bool)> = pending
            .iter()
            .map(|p| (p.target.service.as_str(), p.target.depends_on.as_slice(), p.clock.is_some()))
            .collect();
        if compose.is_some()
            && all_blocked(&waiting, &not_ready)
            && let Some(run) = compose.take()
        {
            run.handle.abort();
            run.line.fail("stopped: it waits for a dependency that is not ready");
            for p in std::mem::take(&mut pending) {
                let reason = "not started: compose was waiting for a dependency that is not ready".to_string();
                outcomes
                    .push((p.index, conclude(stack, p, &[], Err((Status::Failed, reason)), started.elapsed()).await));
            }
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    outcomes.sort_by_key(|(i, _)| *i);
    Ok((outcomes.into_iter().map(|(_, o)| o).collect(), compose_error))
}

/// Whether every service still waited for (name, dependencies, started) is unstarted and depends,
/// directly or through another such service, on one that is not ready.
fn all_blocked(waiting: &[(&str, &[String], bool)], not_ready: &[&str]) -> bool {
    let mut stuck: Vec<&str> = not_ready.to_vec();
    loop {
        let before = stuck.len();
        for (service, depends_on, started) in waiting {
            if !started && !stuck.contains(service) && depends_on.iter().any(|d| stuck.contains(&d.as_str())) {
                stuck.push(service);
            }
        }
        if stuck.len() == before {
            break;
        }
    }
    !waiting.is_empty() && waiting.iter().all(|(service, _, _)| stuck.contains(service))
}

/// A service still being waited for.
struct Pending<'a> {
    index: usize,
    target: &'a Target,
    progress: Progress,
    /// Since when its timeout runs: from when compose started its container.
    clock: Option<Instant>,
    /// The one given, or its default once its containers (and their health checks) are known.
    timeout: Duration,
}

/// Ends a service's progress line and records its outcome (with a diagnosis when not ready).
async fn conclude(
    stack: &Stack,
    p: Pending<'_>,
    containers: &[&Container],
    verdict: std::result::Result<Ready, (Status, String)>,
    elapsed: Duration,
) -> Outcome {
    let seconds = (elapsed.as_secs_f64() * 10.0).round() / 10.0;
    let service = p.target.service.clone();
    let timeout_secs = p.timeout.as_secs();
    match verdict {
        Ok(kind) => {
            p.progress.finish(kind.as_str());
            Outcome {
                service,
                status: kind.into(),
                seconds,
                timeout_secs,
                reason: None,
                last_health_check: None,
                log_tail: Vec::new(),
            }
        }
        Err((status, reason)) => {
            p.progress.fail(&reason);
            let (last_health_check, log_tail) = diagnose(stack, containers).await;
            Outcome { service, status, seconds, timeout_secs, reason: Some(reason), last_health_check, log_tail }
        }
    }
}

/// The last health check and log lines of a service's (first) container.
async fn diagnose(stack: &Stack, containers: &[&Container]) -> (Option<HealthCheckRun>, Vec<String>) {
    let Some(container) = containers.first() else { return (None, Vec::new()) };
    let logs = match stack.engine.log_tail(&container.id, LOG_LINES).await {
        Ok(lines) => lines.into_iter().map(|l| l.text).collect(),
        Err(e) => vec![format!("(cannot read the log: {e})")],
    };
    (container.last_check.clone(), logs)
}

/// The text shown for services that are not ready: reason, last health check, last log lines.
pub fn describe_failures(outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for o in outcomes.iter().filter(|o| !o.status.is_ready()) {
        text.push_str(&format!("\n{}: {}\n", o.service, o.reason.as_deref().unwrap_or("not ready")));
        if let Some(check) = &o.last_health_check {
            let output = if check.output.is_empty() { "(no output)".to_string() } else { check.output.clone() };
            let mut lines = output.lines();
            text.push_str(&format!("  last health check (exit {}): {}\n", check.exit_code, lines.next().unwrap_or("")));
            for line in lines {
                text.push_str(&format!("    {line}\n"));
            }
        }
        if o.log_tail.is_empty() {
            text.push_str("  no log lines\n");
        } else {
            match o.log_tail.len() {
                1 => text.push_str("  last log line:\n"),
                n => text.push_str(&format!("  last {n} log lines:\n")),
            }
            for line in &o.log_tail {
                text.push_str(&format!("    | {line}\n"));
            }
        }
    }
    text
}

/// The error for a wait with services not ready: a timeout (exit 4) when waiting longer could
/// still help, a service failure (exit 3) otherwise.
pub fn failure_error(project: &str, outcomes: &[Outcome], compose_error: Option<Error>) -> Option<Error> {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.status.is_ready()).collect();
    if failed.is_empty() && compose_error.is_none() {
        return None;
    }
    let details = describe_failures(outcomes);
    let hint =
        "`olmisctl logs SERVICE` shows more, `olmisctl ps` the current state; fix the cause and run the command again";
    if compose_error.is_none() && failed.iter().all(|o| o.status == Status::TimedOut) {
        let names: Vec<&str> = failed.iter().map(|o| o.service.as_str()).collect();
        let after = failed.iter().map(|o| o.timeout_secs).max().unwrap_or(0);
        return Some(Error::Timeout {
            what: format!("{} to become ready", names.join(", ")),
            after_secs: after,
            detail: details.trim_end().to_string(),
            hint: Some(format!("{hint}; a slow host may need a longer --timeout")),
        });
    }
    let mut message = match &compose_error {
        Some(Error::Service { message, .. }) => format!("{message}\n"),
        Some(other) => format!("{other}\n"),
        None => String::new(),
    };
    if !failed.is_empty() {
        message.push_str(&format!(
            "{} of {} services are not ready in compose project `{project}`:\n{}",
            failed.len(),
            outcomes.len(),
            details.trim_start_matches('\n')
        ));
    }
    Some(Error::service("compose", message.trim_end().to_string()).with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(service: &str, status: Status) -> Outcome {
        Outcome {
            service: service.into(),
            status,
            seconds: 2.0,
            timeout_secs: 2,
            reason: None,
            last_health_check: None,
            log_tail: vec![],
        }
    }

    #[test]
    fn compose_is_blocked_only_when_every_waiting_service_waits_on_a_failure() {
        let deps = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (on_kafka, on_connect, none) = (deps(&["kafka"]), deps(&["connect"]), deps(&[]));
        // connect waits on the failed kafka, ui on connect: both blocked.
        let waiting = [("connect", on_kafka.as_slice(), false), ("ui", on_connect.as_slice(), false)];
        assert!(all_blocked(&waiting, &["kafka"]));
        // Something unrelated is still being built or pulled: compose must go on.
        let waiting = [("connect", on_kafka.as_slice(), false), ("superset", none.as_slice(), false)];
        assert!(!all_blocked(&waiting, &["kafka"]));
        // Started already: it is judged on its own.
        assert!(!all_blocked(&[("connect", on_kafka.as_slice(), true)], &["kafka"]));
        assert!(!all_blocked(&[("connect", on_kafka.as_slice(), false)], &[]));
    }

    #[test]
    fn all_ready_is_no_error() {
        assert!(failure_error("p", &[outcome("a", Status::Healthy), outcome("b", Status::Completed)], None).is_none());
    }

    #[test]
    fn failures_carry_health_output_and_logs() {
        let mut bad = outcome("never", Status::Failed);
        bad.reason = Some("unhealthy".into());
        bad.last_health_check = Some(HealthCheckRun { exit_code: 1, output: "probe says no".into() });
        bad.log_tail = vec!["line 1".into(), "line 2".into()];
        let err = failure_error("p", &[outcome("slow", Status::Healthy), bad], None).unwrap();
        assert_eq!(err.exit() as u8, 3);
        insta::assert_snapshot!(err.to_string(), @r"
        compose: 1 of 2 services are not ready in compose project `p`:
        never: unhealthy
          last health check (exit 1): probe says no
          last 2 log lines:
            | line 1
            | line 2
        ");
    }

    #[test]
    fn only_timeouts_exit_with_the_timeout_code() {
        let mut slow = outcome("slow", Status::TimedOut);
        slow.reason = Some("not ready after 1s (health: starting)".into());
        let err = failure_error("p", &[slow.clone()], None).unwrap();
        assert_eq!(err.exit() as u8, 4);
        assert!(err.to_string().starts_with("timed out after 2s waiting for slow to become ready"), "{err}");
        let failed = outcome("x", Status::Failed);
        assert_eq!(failure_error("p", &[slow, failed], None).unwrap().exit() as u8, 3);
    }

    #[test]
    fn a_compose_failure_leads_the_message() {
        let err = failure_error(
            "p",
            &[outcome("a", Status::Healthy)],
            Some(Error::service("compose", "`docker-compose up -d` failed")),
        )
        .unwrap();
        assert!(err.to_string().contains("`docker-compose up -d` failed"), "{err}");
        assert_eq!(err.exit() as u8, 3);
    }
}
