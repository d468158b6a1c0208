//! The platform's state in one value: what `status` prints, serializes and exports as metrics.
//! Gathering fills it; everything here is pure.

use serde::Serialize;

use crate::checks::Level;

#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    pub service: String,
    pub level: Level,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskState {
    pub id: u32,
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectorState {
    pub name: String,
    /// `RUNNING`, `PAUSED`, `FAILED`, ... or `MISSING` when Connect doesn't know it.
    pub state: String,
    pub tasks: Vec<TaskState>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotState {
    pub name: String,
    pub exists: bool,
    pub active: bool,
    /// `reserved`, `extended`, `unreserved` or `lost`.
    pub wal_status: Option<String>,
    pub lag_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableIngestion {
    pub table: String,
    pub rows: u64,
    pub newest_event_age_seconds: Option<f64>,
    pub consumer_lag: Option<i64>,
    /// Messages of the table's topic in `raw.errors`.
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefreshRun {
    pub run_id: String,
    pub state: String,
    pub tasks: Vec<RefreshTask>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefreshTask {
    pub task_id: String,
    /// Airflow's task instance state; `none` before the scheduler looked at it.
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbtLastRun {
    /// When dbt wrote the run's results.
    pub finished_at: String,
    pub models_built: u32,
    pub tests_failed: u32,
    pub failing_tests: Vec<String>,
}

/// Every figure of `status`. `None` means "could not be read"; the matching finding says why.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PlatformStatus {
    pub services: Vec<ServiceHealth>,
    pub connector: Option<ConnectorState>,
    pub slot: Option<SlotState>,
    pub ingestion: Vec<TableIngestion>,
    pub raw_errors: Option<u64>,
    pub refresh: Option<RefreshRun>,
    pub dbt: Option<DbtLastRun>,
    /// Problems found while gathering, each with the level it implies.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl PlatformStatus {
    /// The worst state anywhere: what the exit code and `olmis_status` report.
    pub fn level(&self) -> Level {
        let services = self.services.iter().map(|s| s.level);
        let findings = self.findings.iter().map(|f| f.level);
        let connector = self.connector.iter().map(|c| {
            let task_failed = c.tasks.iter().any(|t| t.state != "RUNNING");
            match (c.state.as_str(), task_failed) {
                ("RUNNING", false) => Level::Pass,
                // Parked by an operator (`connector` pause or stop): not broken, but nothing flows.
                ("PAUSED" | "STOPPED", _) => Level::Warn,
                _ => Level::Fail,
            }
        });
        let slot = self.slot.iter().map(|s| match (s.exists, s.wal_status.as_deref(), s.active) {
            (false, _, _) | (_, Some("lost"), _) => Level::Fail,
            (_, Some("unreserved"), _) | (_, _, false) => Level::Warn,
            _ => Level::Pass,
        });
        let errors = self.raw_errors.iter().map(|n| if *n > 0 { Level::Warn } else { Level::Pass });
        let dbt = self.dbt.iter().map(|d| if d.tests_failed > 0 { Level::Fail } else { Level::Pass });
        let refresh = self.refresh.iter().map(|r| if r.state == "failed" { Level::Fail } else { Level::Pass });
        services
            .chain(findings)
            .chain(connector)
            .chain(slot)
            .chain(errors)
            .chain(dbt)
            .chain(refresh)
            .max()
            .unwrap_or(Level::Pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_state_wins() {
        let mut s = PlatformStatus::default();
        assert_eq!(s.level(), Level::Pass);
        s.raw_errors = Some(3);
        assert_eq!(s.level(), Level::Warn);
        s.slot = Some(SlotState {
            name: "s".into(),
            exists: true,
            active: true,
            wal_status: Some("lost".into()),
            lag_bytes: None,
        });
        assert_eq!(s.level(), Level::Fail);
    }

    #[test]
    fn a_parked_connector_warns_and_a_missing_one_fails() {
        let with = |state: &str| PlatformStatus {
            connector: Some(ConnectorState { name: "c".into(), state: state.into(), tasks: Vec::new() }),
            ..Default::default()
        };
        assert_eq!(with("STOPPED").level(), Level::Warn);
        assert_eq!(with("PAUSED").level(), Level::Warn);
        assert_eq!(with("MISSING").level(), Level::Fail);
    }

    #[test]
    fn a_failed_task_fails_a_running_connector() {
        let s = PlatformStatus {
            connector: Some(ConnectorState {
                name: "c".into(),
                state: "RUNNING".into(),
                tasks: vec![TaskState { id: 0, state: "FAILED".into() }],
            }),
            ..Default::default()
        };
        assert_eq!(s.level(), Level::Fail);
    }
}
