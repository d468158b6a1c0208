//! `olmisctl recover`: find what is broken in the pipeline and repair what can be repaired safely.
//!
//! The facts are gathered first, then [`decide`] (pure) picks the repairs: a missing connector is
//! registered again, FAILED parts are restarted, and an invalidated replication slot stops both
//! (re-registering or restarting on a lost slot would stream on from "now" and silently skip the
//! changes in between) in favour of `bootstrap recover-slot`, which reloads what was missed.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::cdc::offsets::{DebeziumOffset, SnapshotState};
use crate::cdc::preflight::SlotFacts;
use crate::cdc::watchdog::{Assessment, assess};
use crate::clients::connect::ConnectorStatus;
use crate::clients::docker::Container;

pub const RECOVER_SLOT: &str = "olmisctl bootstrap recover-slot";

/// What was found about the connector and its slot.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `None`: not registered in Kafka Connect.
    pub connector: Option<ConnectorStatus>,
    /// The connector's committed offsets (only readable while it is registered).
    pub offset: Option<DebeziumOffset>,
    /// `None`: the slot does not exist.
    pub slot: Option<SlotFacts>,
    pub slot_name: String,
}

/// Compose mode: the services among `expected` (and those with a container) that are not up,
/// for `compose up` to start and wait on.
pub fn services_down(expected: &[String], containers: &[Container]) -> Vec<String> {
    let mut names: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    names.extend(containers.iter().map(|c| c.service.as_str()));
    names
        .into_iter()
        .filter(|name| !containers.iter().any(|c| c.service == *name && c.is_up()))
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Repair {
    /// Compose mode: start these services' containers and wait until they are ready.
    StartServices { services: Vec<String> },
    /// Register the connector again (preflight first, the same config as `register-connector`).
    Register,
    /// Restart the connector's FAILED parts (`what` names them).
    RestartFailed { what: Vec<String> },
    /// The slot lost WAL the connector still needed: only `bootstrap recover-slot` can repair it.
    RecoverSlot { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// What is wrong, in words (empty: nothing).
    pub findings: Vec<String>,
    pub repairs: Vec<Repair>,
    /// Worth knowing but not a fault to repair (a connector parked by an operator, ...).
    pub notes: Vec<String>,
}

/// Why the slot can no longer serve the connector, if it can't.
fn slot_invalid(f: &Facts) -> Option<String> {
    match &f.slot {
        Some(s) if s.wal_status.as_deref() == Some("lost") => Some(format!(
            "replication slot {} is invalidated (wal_status lost): PostgreSQL removed WAL the connector had not read",
            f.slot_name
        )),
        None if f.offset.as_ref().is_some_and(|o| o.lsn_commit.is_some() && o.snapshot == SnapshotState::Streaming) => {
            Some(format!(
                "replication slot {} is gone although the connector had streamed from it: changes since are not in the slot",
                f.slot_name
            ))
        }
        _ => None,
    }
}

pub fn decide(f: &Facts) -> Decision {
    let mut d = Decision { findings: Vec::new(), repairs: Vec::new(), notes: Vec::new() };
    if let Some(reason) = slot_invalid(f) {
        d.findings.push(reason.clone());
        d.repairs.push(Repair::RecoverSlot { reason });
        return d;
    }
    match &f.connector {
        None => {
            d.findings.push("the connector is not registered in Kafka Connect".into());
            d.repairs.push(Repair::Register);
            if f.slot.is_none() {
                d.notes.push(format!(
                    "replication slot {} does not exist either: the connector starts with a new one; if it had \
                     streamed before, `olmisctl reconcile` shows whether changes were missed",
                    f.slot_name
                ));
            }
        }
        Some(status) => match assess(status) {
            Assessment::Healthy => {}
            Assessment::Failed { what } => {
                let trace = crate::cdc::register::failure(status).unwrap_or_default();
                d.findings.push(format!("{} FAILED: {trace}", what.join(", ")));
                d.repairs.push(Repair::RestartFailed { what });
            }
            Assessment::Parked { state } => d
                .notes
                .push(format!("the connector is {state} by an operator: left alone (`olmisctl connector` resumes it)")),
            Assessment::Settling { state } => d.notes.push(format!("the connector is settling: {state}")),
        },
    }
    if let Some(s) = &f.slot
        && s.wal_status.as_deref() == Some("unreserved")
    {
        d.notes.push(format!(
            "replication slot {} is about to lose WAL (wal_status unreserved): the connector must catch up now",
            f.slot_name
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::docker::{Health, RestartPolicy, RunState};

    fn status(json: &str) -> ConnectorStatus {
        serde_json::from_str(json).unwrap()
    }

    fn slot(wal_status: &str) -> SlotFacts {
        SlotFacts { plugin: "pgoutput".into(), active: true, wal_status: Some(wal_status.into()), ..Default::default() }
    }

    fn facts() -> Facts {
        Facts {
            connector: Some(status(
                r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"RUNNING"}]}"#,
            )),
            offset: Some(DebeziumOffset { lsn_commit: Some(100), snapshot: SnapshotState::Streaming }),
            slot: Some(slot("reserved")),
            slot_name: "olmis".into(),
        }
    }

    #[test]
    fn a_healthy_pipeline_needs_nothing() {
        let d = decide(&facts());
        assert!(d.findings.is_empty() && d.repairs.is_empty() && d.notes.is_empty(), "{d:?}");
    }

    #[test]
    fn a_missing_connector_is_registered_and_a_failed_task_restarted() {
        let missing = Facts { connector: None, offset: None, ..facts() };
        assert_eq!(decide(&missing).repairs, vec![Repair::Register]);
        let failed = Facts {
            connector: Some(status(
                r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"FAILED","trace":"org.x.Boom: no\n at y"}]}"#,
            )),
            ..facts()
        };
        let d = decide(&failed);
        assert_eq!(d.repairs, vec![Repair::RestartFailed { what: vec!["task 0".into()] }]);
        assert!(d.findings[0].contains("org.x.Boom: no"), "{d:?}");
    }

    #[test]
    fn a_lost_slot_stops_every_other_repair() {
        let lost = Facts { connector: None, slot: Some(slot("lost")), ..facts() };
        let d = decide(&lost);
        assert!(matches!(d.repairs.as_slice(), [Repair::RecoverSlot { .. }]), "{d:?}");
        let gone = Facts { slot: None, ..facts() };
        assert!(matches!(decide(&gone).repairs.as_slice(), [Repair::RecoverSlot { .. }]));
        let fresh = Facts {
            slot: None,
            offset: Some(DebeziumOffset { lsn_commit: None, snapshot: SnapshotState::NoOffsets }),
            ..facts()
        };
        assert!(decide(&fresh).repairs.is_empty(), "a connector that never streamed creates its slot");
    }

    #[test]
    fn a_missing_connector_without_its_slot_is_registered_with_a_warning() {
        let d = decide(&Facts { connector: None, offset: None, slot: None, ..facts() });
        assert_eq!(d.repairs, vec![Repair::Register]);
        assert!(d.notes[0].contains("reconcile"), "{d:?}");
    }

    fn container(service: &str, state: RunState, health: Option<Health>) -> Container {
        Container {
            id: service.into(),
            name: service.into(),
            service: service.into(),
            state,
            exit_code: 0,
            health,
            check_timing: None,
            last_check: None,
            restart_policy: RestartPolicy::UnlessStopped,
            restart_count: 0,
            started_at: None,
            ports: Vec::new(),
        }
    }

    #[test]
    fn services_not_up_are_the_ones_to_start() {
        let containers = vec![
            container("kafka", RunState::Running, Some(Health::Healthy)),
            container("kafka-connect", RunState::Exited, None),
            container("superset", RunState::Running, Some(Health::Unhealthy)),
            container("watchdog", RunState::Running, None),
        ];
        let expected: Vec<String> = ["kafka", "kafka-connect", "clickhouse"].map(String::from).to_vec();
        assert_eq!(services_down(&expected, &containers), vec!["clickhouse", "kafka-connect", "superset"]);
    }

    #[test]
    fn parked_connectors_are_left_alone() {
        let parked = Facts {
            connector: Some(status(
                r#"{"name":"c","connector":{"state":"PAUSED"},"tasks":[{"id":0,"state":"PAUSED"}]}"#,
            )),
            ..facts()
        };
        let d = decide(&parked);
        assert!(d.repairs.is_empty());
        assert!(d.notes[0].contains("PAUSED"));
    }
}
