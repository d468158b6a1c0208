//! When is a service ready? Decided from the engine's view of its containers, with no I/O, so every
//! case is unit-tested: healthy (or running, without a health check), finished cleanly (one-shot
//! jobs), still on its way, or failed for a reason the user can act on.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::clients::docker::{Container, Health, RestartPolicy, RunState};

/// Restarts after which a crashing container is reported instead of waited for.
pub const CRASH_LOOP_RESTARTS: i64 = 3;

/// How long a container without a health check must keep running to count as ready, so one that
/// crashes right after its start is reported instead of passed.
pub const SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    /// Its health check passes.
    Healthy,
    /// Running, and it has no health check.
    Running,
    /// A one-shot container that exited with code 0.
    Completed,
}

impl Ready {
    pub fn as_str(self) -> &'static str {
        match self {
            Ready::Healthy => "healthy",
            Ready::Running => "running",
            Ready::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready(Ready),
    /// Not yet; the text says what it is doing.
    Waiting(String),
    /// Won't get ready by waiting; the text says why.
    Failed(String),
}

/// Assesses a service from its containers. `judge_from`: while compose is still creating and
/// starting containers, only containers started at or after this moment are judged (an old exited
/// container is about to be started again); `None` once compose has finished. `settled` says
/// whether a container has been seen running for [`SETTLE`] (the caller's clock, not the engine's).
pub fn assess(
    containers: &[&Container],
    judge_from: Option<SystemTime>,
    settled: &dyn Fn(&Container) -> bool,
) -> Readiness {
    if containers.is_empty() {
        return Readiness::Waiting("no container yet".into());
    }
    let mut ready = Vec::new();
    let mut waiting = None;
    for container in containers {
        let fresh = match judge_from {
            None => true,
            Some(since) => container.started_at.is_some_and(|started| started >= since),
        };
        if !fresh {
            waiting.get_or_insert_with(|| "waiting for compose to start it".to_string());
            continue;
        }
        match assess_container(container, settled(container)) {
            Readiness::Failed(why) if containers.len() > 1 => {
                return Readiness::Failed(format!("{}: {why}", container.name));
            }
            Readiness::Failed(why) => return Readiness::Failed(why),
            Readiness::Waiting(what) => {
                waiting.get_or_insert(what);
            }
            Readiness::Ready(kind) => ready.push(kind),
        }
    }
    match waiting {
        Some(what) => Readiness::Waiting(what),
        // Several replicas: report the weakest kind (a running one without check over healthy).
        None => Readiness::Ready(ready.into_iter().max_by_key(|k| *k as u8).unwrap_or(Ready::Running)),
    }
}

fn assess_container(c: &Container, settled: bool) -> Readiness {
    let restarts =
        c.restart_policy != RestartPolicy::No && !(c.restart_policy == RestartPolicy::OnFailure && c.exit_code == 0);
    let crash_loop = || {
        Readiness::Failed(format!("keeps restarting ({} restarts, last exit code {})", c.restart_count, c.exit_code))
    };
    match c.state {
        RunState::Running => match c.health {
            None if settled => Readiness::Ready(Ready::Running),
            None => Readiness::Waiting("running, settling".into()),
            Some(Health::Healthy) => Readiness::Ready(Ready::Healthy),
            Some(Health::Starting) => Readiness::Waiting("health: starting".into()),
            Some(Health::Unhealthy) => Readiness::Failed("unhealthy".into()),
        },
        RunState::Exited if !restarts => {
            if c.exit_code == 0 {
                Readiness::Ready(Ready::Completed)
            } else {
                Readiness::Failed(format!("exited with code {}", c.exit_code))
            }
        }
        RunState::Exited | RunState::Restarting if c.restart_count >= CRASH_LOOP_RESTARTS => crash_loop(),
        RunState::Exited | RunState::Restarting => {
            Readiness::Waiting(format!("exited with code {}, restarting", c.exit_code))
        }
        RunState::Created => Readiness::Waiting("created, not started yet".into()),
        RunState::Removing => Readiness::Waiting("being removed".into()),
        RunState::Paused => Readiness::Failed("paused (`docker unpause` it)".into()),
        RunState::Dead => Readiness::Failed("dead (the engine could not stop or remove it)".into()),
    }
}

/// The least a service is waited for by default.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Extra time on top of a health check's own budget (the host is busy starting everything).
const MARGIN: Duration = Duration::from_secs(30);

/// How long `up` and `restart` wait for a service by default: as long as its own health check
/// may take to call it unhealthy (start period, then every retry taking its interval and timeout),
/// plus a margin, and at least [`MIN_TIMEOUT`]. So slow services (Kafka Connect with a 120 s start
/// period, Superset with 240 s) get minutes, and a changed compose file needs no change here.
pub fn default_timeout(containers: &[&Container]) -> Duration {
    containers
        .iter()
        .filter_map(|c| c.check_timing)
        .map(|t| t.start_period + (t.interval + t.timeout) * t.retries + MARGIN)
        .fold(MIN_TIMEOUT, Duration::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(state: RunState, health: Option<Health>) -> Container {
        Container {
            id: "id".into(),
            name: "p-svc-1".into(),
            service: "svc".into(),
            state,
            exit_code: 0,
            health,
            check_timing: None,
            last_check: None,
            restart_policy: RestartPolicy::UnlessStopped,
            restart_count: 0,
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100)),
            ports: vec![],
        }
    }

    fn settled(_: &Container) -> bool {
        true
    }

    fn one(c: &Container) -> Readiness {
        assess(&[c], None, &settled)
    }

    #[test]
    fn running_containers_are_ready_when_healthy_or_without_a_check() {
        assert_eq!(one(&container(RunState::Running, None)), Readiness::Ready(Ready::Running));
        assert_eq!(one(&container(RunState::Running, Some(Health::Healthy))), Readiness::Ready(Ready::Healthy));
        assert_eq!(
            one(&container(RunState::Running, Some(Health::Starting))),
            Readiness::Waiting("health: starting".into())
        );
        assert_eq!(one(&container(RunState::Running, Some(Health::Unhealthy))), Readiness::Failed("unhealthy".into()));
    }

    #[test]
    fn without_a_check_a_container_must_keep_running_a_moment() {
        let c = container(RunState::Running, None);
        assert_eq!(assess(&[&c], None, &|_| false), Readiness::Waiting("running, settling".into()));
        let healthy = container(RunState::Running, Some(Health::Healthy));
        assert_eq!(assess(&[&healthy], None, &|_| false), Readiness::Ready(Ready::Healthy));
    }

    #[test]
    fn one_shot_containers_complete_or_fail_by_exit_code() {
        let mut c = container(RunState::Exited, None);
        c.restart_policy = RestartPolicy::No;
        assert_eq!(one(&c), Readiness::Ready(Ready::Completed));
        c.exit_code = 3;
        assert_eq!(one(&c), Readiness::Failed("exited with code 3".into()));
        c.restart_policy = RestartPolicy::OnFailure;
        c.exit_code = 0;
        assert_eq!(one(&c), Readiness::Ready(Ready::Completed));
    }

    #[test]
    fn restarting_containers_are_waited_for_until_they_crash_loop() {
        let mut c = container(RunState::Restarting, None);
        c.exit_code = 1;
        c.restart_count = 1;
        assert_eq!(one(&c), Readiness::Waiting("exited with code 1, restarting".into()));
        c.restart_count = CRASH_LOOP_RESTARTS;
        assert_eq!(one(&c), Readiness::Failed("keeps restarting (3 restarts, last exit code 1)".into()));
        c.state = RunState::Exited;
        assert!(matches!(one(&c), Readiness::Failed(_)));
    }

    #[test]
    fn other_states() {
        assert!(matches!(one(&container(RunState::Created, None)), Readiness::Waiting(_)));
        assert!(matches!(one(&container(RunState::Removing, None)), Readiness::Waiting(_)));
        assert!(matches!(one(&container(RunState::Paused, None)), Readiness::Failed(_)));
        assert!(matches!(one(&container(RunState::Dead, None)), Readiness::Failed(_)));
        assert_eq!(assess(&[], None, &settled), Readiness::Waiting("no container yet".into()));
    }

    #[test]
    fn while_compose_runs_only_fresh_containers_are_judged() {
        let mut old = container(RunState::Exited, None);
        old.restart_policy = RestartPolicy::No;
        old.exit_code = 3;
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        assert_eq!(
            assess(&[&old], Some(since), &settled),
            Readiness::Waiting("waiting for compose to start it".into())
        );
        assert_eq!(assess(&[&old], None, &settled), Readiness::Failed("exited with code 3".into()));
        let mut fresh = container(RunState::Running, Some(Health::Healthy));
        fresh.started_at = Some(since + Duration::from_secs(1));
        assert_eq!(assess(&[&fresh], Some(since), &settled), Readiness::Ready(Ready::Healthy));
        fresh.started_at = None;
        assert!(matches!(assess(&[&fresh], Some(since), &settled), Readiness::Waiting(_)));
    }

    #[test]
    fn replicas_are_ready_together_and_fail_by_name() {
        let healthy = container(RunState::Running, Some(Health::Healthy));
        let plain = container(RunState::Running, None);
        assert_eq!(assess(&[&healthy, &plain], None, &settled), Readiness::Ready(Ready::Running));
        let mut sick = container(RunState::Running, Some(Health::Unhealthy));
        sick.name = "p-svc-2".into();
        assert_eq!(assess(&[&healthy, &sick], None, &settled), Readiness::Failed("p-svc-2: unhealthy".into()));
        let starting = container(RunState::Running, Some(Health::Starting));
        assert!(matches!(assess(&[&healthy, &starting], None, &settled), Readiness::Waiting(_)));
    }

    #[test]
    fn default_timeouts_follow_the_health_check() {
        use crate::clients::docker::CheckTiming;
        let secs = Duration::from_secs;
        let mut superset = container(RunState::Running, Some(Health::Starting));
        // compose/docker-compose.yml: interval 15s, timeout 10s, retries 10, start_period 240s.
        superset.check_timing =
            Some(CheckTiming { interval: secs(15), timeout: secs(10), retries: 10, start_period: secs(240) });
        assert_eq!(default_timeout(&[&superset]), secs(240 + 250 + 30));
        let mut db = container(RunState::Running, Some(Health::Starting));
        db.check_timing = Some(CheckTiming { interval: secs(5), timeout: secs(5), retries: 5, start_period: secs(0) });
        assert_eq!(default_timeout(&[&db]), MIN_TIMEOUT);
        assert_eq!(default_timeout(&[&container(RunState::Running, None)]), MIN_TIMEOUT);
        assert_eq!(default_timeout(&[]), MIN_TIMEOUT);
    }
}
