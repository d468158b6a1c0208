//! Reads Debezium PostgreSQL's committed source offsets (from Connect's offsets endpoint, no JMX):
//! where the connector is in the WAL, and whether an initial or incremental snapshot is running.
//!
//! Debezium keeps the incremental snapshot's context (`incremental_snapshot_correlation_id` = the
//! signal's id, `incremental_snapshot_collections` = tables still to read, current first) in every
//! offset it commits while the snapshot runs, and drops those keys when it ends. Offsets are
//! committed on the worker's flush interval and with every heartbeat, so they lag a few seconds.

use serde::Serialize;

use crate::clients::connect::PartitionOffset;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotState {
    /// Nothing committed yet: the connector just started (its initial snapshot may be running).
    NoOffsets,
    /// The initial snapshot is running.
    Initial,
    /// An incremental snapshot is running; `remaining` lists tables still to read, current first.
    Incremental { signal_id: String, remaining: Vec<String> },
    /// No snapshot running: streaming changes.
    Streaming,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebeziumOffset {
    /// Commit LSN of the last transaction the connector processed (monotonic in commit order).
    pub lsn_commit: Option<u64>,
    pub snapshot: SnapshotState,
}

pub fn read(offsets: &[PartitionOffset]) -> DebeziumOffset {
    let Some(o) = offsets.first().map(|p| &p.offset) else {
        return DebeziumOffset { lsn_commit: None, snapshot: SnapshotState::NoOffsets };
    };
    let number = |key: &str| o.get(key).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    let truthy = |key: &str| o.get(key).is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let lsn_commit = number("lsn_commit").or_else(|| number("lsn"));
    let signal_id = o.get("incremental_snapshot_correlation_id").and_then(|v| v.as_str()).map(str::to_string);
    let remaining = o
        .get("incremental_snapshot_collections")
        .and_then(|v| v.as_str())
        .and_then(|text| serde_json::from_str::<Vec<serde_json::Value>>(text).ok())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    i.get("incremental_snapshot_collections_id").and_then(|v| v.as_str()).map(str::to_string)
                })
                .collect::<Vec<_>>()
        });
    let snapshot = if signal_id.is_some() || remaining.is_some() {
        SnapshotState::Incremental {
            signal_id: signal_id.unwrap_or_default(),
            remaining: remaining.unwrap_or_default(),
        }
    } else {
        // Initial snapshot records carry `snapshot` (true, or a kind such as INITIAL) until the
        // last one, which sets `last_snapshot_record`; streaming offsets have neither.
        let in_snapshot = o.get("snapshot").is_some_and(|v| match v {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::String(s) => !s.eq_ignore_ascii_case("false") && !s.eq_ignore_ascii_case("incremental"),
            _ => false,
        });
        if in_snapshot && !truthy("last_snapshot_record") && !truthy("snapshot_completed") {
            SnapshotState::Initial
        } else {
            SnapshotState::Streaming
        }
    };
    DebeziumOffset { lsn_commit, snapshot }
}

/// Where one `execute-snapshot` signal stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignalProgress {
    /// The connector has not reached the signal in the WAL yet.
    Pending,
    /// Reading the tables; `remaining` are ours still to read, the current one first.
    Running {
        remaining: Vec<String>,
    },
    Finished,
}

/// Judges a signal's progress from the committed offset. `signal_lsn` is the server's WAL
/// position read after the signal's transaction committed: once the connector's commit LSN has
/// passed it, the connector has processed the signal (pgoutput delivers in commit order), so a
/// snapshot of our tables that is no longer in the offset has finished. The heartbeat's own
/// transactions guarantee the commit LSN moves past it even on an idle source.
pub fn signal_progress(offset: &DebeziumOffset, signal_id: &str, tables: &[String], signal_lsn: u64) -> SignalProgress {
    if let SnapshotState::Incremental { signal_id: running, remaining } = &offset.snapshot {
        let ours: Vec<String> = remaining.iter().filter(|t| tables.contains(t)).cloned().collect();
        if running == signal_id || !ours.is_empty() {
            return SignalProgress::Running { remaining: ours };
        }
    }
    match offset.lsn_commit {
        Some(lsn) if lsn >= signal_lsn => SignalProgress::Finished,
        _ => SignalProgress::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(json: &str) -> Vec<PartitionOffset> {
        let o: serde_json::Value = serde_json::from_str(json).unwrap();
        vec![PartitionOffset {
            partition: serde_json::from_str(r#"{"server":"p"}"#).unwrap(),
            offset: o.as_object().unwrap().clone(),
        }]
    }

    // Shapes as Debezium 3.4 commits them (seen on the test stack).
    const STREAMING: &str =
        r#"{"lsn_proc":31950440,"messageType":"COMMIT","lsn_commit":31950440,"lsn":31950440,"txId":759,"ts_usec":1}"#;
    const INCREMENTAL: &str = r#"{"incremental_snapshot_correlation_id":"sig-1","lsn_proc":31968752,"lsn_commit":31968752,"lsn":31968752,
        "incremental_snapshot_collections":"[{\"incremental_snapshot_collections_id\":\"referencedata.facilities\",\"incremental_snapshot_collections_additional_condition\":null,\"incremental_snapshot_collections_surrogate_key\":null}]",
        "incremental_snapshot_primary_key":"aced","last_snapshot_record":false,"snapshot":"INCREMENTAL","snapshot_completed":false}"#;

    #[test]
    fn reads_streaming_and_incremental_offsets() {
        let s = read(&offset(STREAMING));
        assert_eq!(s.lsn_commit, Some(31950440));
        assert_eq!(s.snapshot, SnapshotState::Streaming);
        let i = read(&offset(INCREMENTAL));
        assert_eq!(
            i.snapshot,
            SnapshotState::Incremental {
                signal_id: "sig-1".into(),
                remaining: vec!["referencedata.facilities".into()]
            }
        );
        assert_eq!(read(&[]).snapshot, SnapshotState::NoOffsets);
    }

    #[test]
    fn reads_initial_snapshot_offsets() {
        let o = read(&offset(r#"{"lsn":5,"snapshot":"INITIAL","last_snapshot_record":false}"#));
        assert_eq!(o.snapshot, SnapshotState::Initial);
        let o = read(&offset(r#"{"lsn":5,"snapshot":true,"last_snapshot_record":true}"#));
        assert_eq!(o.snapshot, SnapshotState::Streaming);
    }

    #[test]
    fn a_signal_is_pending_then_running_then_finished() {
        let tables = vec!["referencedata.facilities".to_string()];
        let before = read(&offset(STREAMING));
        assert_eq!(signal_progress(&before, "sig-1", &tables, 31968064), SignalProgress::Pending);
        let during = read(&offset(INCREMENTAL));
        assert_eq!(
            signal_progress(&during, "sig-1", &tables, 31968064),
            SignalProgress::Running { remaining: tables.clone() }
        );
        let after = read(&offset(r#"{"lsn_commit":31972936,"lsn":31972936}"#));
        assert_eq!(signal_progress(&after, "sig-1", &tables, 31968064), SignalProgress::Finished);
    }

    #[test]
    fn our_tables_queued_behind_another_signal_are_still_running() {
        let tables = vec!["referencedata.facilities".to_string()];
        let other = read(&offset(&INCREMENTAL.replace("sig-1", "someone-else")));
        assert!(matches!(signal_progress(&other, "mine", &tables, 1), SignalProgress::Running { .. }));
    }
}
