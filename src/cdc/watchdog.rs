//! The watchdog's decisions (pure): what a connector status calls for, and exponential backoff
//! between repairs so a task that fails again at once is not restarted in a tight loop.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::clients::connect::ConnectorStatus;

/// What one look at the connector's status calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// Connector and every task RUNNING.
    Healthy,
    /// The connector or some tasks FAILED: restart them. `what` names the failed parts.
    Failed { what: Vec<String> },
    /// Stopped or paused on purpose by an operator: leave it alone.
    Parked { state: String },
    /// Starting, rebalancing or restarting: look again next time.
    Settling { state: String },
}

pub fn assess(status: &ConnectorStatus) -> Assessment {
    let mut failed = Vec::new();
    if status.connector.state == "FAILED" {
        failed.push("connector".to_string());
    }
    failed.extend(status.failed_tasks().map(|t| format!("task {}", t.id)));
    if !failed.is_empty() {
        return Assessment::Failed { what: failed };
    }
    match status.connector.state.as_str() {
        "PAUSED" | "STOPPED" => Assessment::Parked { state: status.connector.state.clone() },
        _ if status.all_running() => Assessment::Healthy,
        _ => Assessment::Settling { state: super::register::describe_status(status) },
    }
}

/// Per-repair backoff: after the n-th attempt the next one waits `base * 2^(n-1)`, at most `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempts: BTreeMap<String, (u32, Instant)>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max, attempts: BTreeMap::new() }
    }

    /// When the repair `key` may next be tried (`None`: now).
    pub fn wait_until(&self, key: &str, now: Instant) -> Option<Instant> {
        self.attempts.get(key).map(|(_, next)| *next).filter(|next| *next > now)
    }

    /// Records an attempt at `now`; returns the delay before the next one.
    pub fn attempted(&mut self, key: &str, now: Instant) -> Duration {
        let n = self.attempts.get(key).map(|(n, _)| *n).unwrap_or(0) + 1;
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        let delay = self.base.saturating_mul(factor).min(self.max);
        self.attempts.insert(key.to_string(), (n, now + delay));
        delay
    }

    pub fn attempts(&self, key: &str) -> u32 {
        self.attempts.get(key).map(|(n, _)| *n).unwrap_or(0)
    }

    /// The repair worked (the thing is healthy): the next failure starts from `base` again.
    pub fn reset(&mut self, key: &str) {
        self.attempts.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> ConnectorStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn assessments() {
        let ok = status(r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"RUNNING"}]}"#);
        assert_eq!(assess(&ok), Assessment::Healthy);
        let failed =
            status(r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"FAILED","trace":"x"}]}"#);
        assert_eq!(assess(&failed), Assessment::Failed { what: vec!["task 0".into()] });
        let paused = status(r#"{"name":"c","connector":{"state":"PAUSED"},"tasks":[{"id":0,"state":"PAUSED"}]}"#);
        assert_eq!(assess(&paused), Assessment::Parked { state: "PAUSED".into() });
        let starting = status(r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[]}"#);
        assert!(matches!(assess(&starting), Assessment::Settling { .. }));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(b.wait_until("task 0", t0), None);
        assert_eq!(b.attempted("task 0", t0), Duration::from_secs(10));
        assert_eq!(b.wait_until("task 0", t0), Some(t0 + Duration::from_secs(10)));
        assert_eq!(b.wait_until("task 0", t0 + Duration::from_secs(11)), None);
        assert_eq!(b.attempted("task 0", t0), Duration::from_secs(20));
        assert_eq!(b.attempted("task 0", t0), Duration::from_secs(40));
        assert_eq!(b.attempted("task 0", t0), Duration::from_secs(60));
        assert_eq!(b.attempts("task 0"), 4);
        b.reset("task 0");
        assert_eq!(b.attempted("task 0", t0), Duration::from_secs(10));
    }
}
