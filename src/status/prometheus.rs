//! The Prometheus text exposition format (version 0.0.4) of a [`PlatformStatus`].

use std::fmt::Write;

use super::model::PlatformStatus;
use crate::checks::Level;

fn level_value(level: Level) -> u8 {
    match level {
        Level::Pass => 0,
        Level::Warn => 1,
        Level::Fail => 2,
    }
}

/// Label values may hold any text; the format needs `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
        let _ = writeln!(self.out, "{name}{labels} {value}");
    }
}

pub fn render(status: &PlatformStatus) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };

    f.header("olmis_status", "gauge", "Worst state of the platform: 0 ok, 1 warning, 2 failing.");
    f.sample("olmis_status", &[], level_value(status.level()));

    f.header("olmis_service_up", "gauge", "1 when the service answers its health check.");
    for s in &status.services {
        f.sample("olmis_service_up", &[("service", &s.service)], u8::from(s.level != Level::Fail));
    }

    if let Some(c) = &status.connector {
        f.header("olmis_connector_running", "gauge", "1 when the Debezium connector is RUNNING.");
        f.sample("olmis_connector_running", &[("connector", &c.name)], u8::from(c.state == "RUNNING"));
        f.header("olmis_connector_task_running", "gauge", "1 when the connector task is RUNNING.");
        for t in &c.tasks {
            f.sample(
                "olmis_connector_task_running",
                &[("connector", &c.name), ("task", &t.id.to_string())],
                u8::from(t.state == "RUNNING"),
            );
        }
    }

    if let Some(s) = &status.slot {
        f.header("olmis_replication_slot_active", "gauge", "1 when a consumer is attached to the slot.");
        f.sample("olmis_replication_slot_active", &[("slot", &s.name)], u8::from(s.active));
        if let Some(lag) = s.lag_bytes {
            f.header(
                "olmis_replication_slot_lag_bytes",
                "gauge",
                "WAL bytes the slot holds back (current LSN minus confirmed flush LSN).",
            );
            f.sample("olmis_replication_slot_lag_bytes", &[("slot", &s.name)], lag);
        }
        f.header(
            "olmis_replication_slot_wal_status",
            "gauge",
            "1 for the slot's current wal_status (reserved, extended, unreserved, lost).",
        );
        for state in ["reserved", "extended", "unreserved", "lost"] {
            let current = s.wal_status.as_deref() == Some(state);
            f.sample(
                "olmis_replication_slot_wal_status",
                &[("slot", &s.name), ("wal_status", state)],
                u8::from(current),
            );
        }
    }

    if !status.ingestion.is_empty() {
        f.header("olmis_raw_rows", "gauge", "Events landed in raw.events_<table>.");
        for t in &status.ingestion {
            f.sample("olmis_raw_rows", &[("table", &t.table)], t.rows);
        }
        f.header("olmis_raw_newest_event_age_seconds", "gauge", "Age of the newest event landed for the table.");
        for t in &status.ingestion {
            if let Some(age) = t.newest_event_age_seconds {
                f.sample("olmis_raw_newest_event_age_seconds", &[("table", &t.table)], format!("{age:.3}"));
            }
        }
        f.header(
            "olmis_kafka_consumer_lag",
            "gauge",
            "Messages ClickHouse's consumer of the table's topic has yet to read.",
        );
        for t in &status.ingestion {
            if let Some(lag) = t.consumer_lag {
                f.sample("olmis_kafka_consumer_lag", &[("table", &t.table)], lag);
            }
        }
    }

    if !status.ingestion.is_empty() {
        f.header("olmis_raw_table_errors", "gauge", "Messages of the table's topic in raw.errors.");
        for t in &status.ingestion {
            f.sample("olmis_raw_table_errors", &[("table", &t.table)], t.errors);
        }
    }

    if let Some(n) = status.raw_errors {
        f.header("olmis_raw_errors", "gauge", "Messages in raw.errors (failed to parse).");
        f.sample("olmis_raw_errors", &[], n);
    }

    if let Some(r) = &status.refresh {
        f.header("olmis_refresh_last_run_success", "gauge", "1 when the newest platform_refresh run succeeded.");
        f.sample("olmis_refresh_last_run_success", &[("run_id", &r.run_id)], u8::from(r.state == "success"));
    }

    if let Some(d) = &status.dbt {
        f.header("olmis_dbt_test_failures", "gauge", "Failed dbt tests in the last run.");
        f.sample("olmis_dbt_test_failures", &[], d.tests_failed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::*;

    #[test]
    fn renders_every_figure_with_escaped_labels() {
        let status = PlatformStatus {
            services: vec![ServiceHealth { service: "clickhouse".into(), level: Level::Pass, detail: String::new() }],
            connector: Some(ConnectorState {
                name: "openlmis-source".into(),
                state: "RUNNING".into(),
                tasks: vec![TaskState { id: 0, state: "FAILED".into() }],
            }),
            slot: Some(SlotState {
                name: "olmis".into(),
                exists: true,
                active: true,
                wal_status: Some("reserved".into()),
                lag_bytes: Some(4096),
            }),
            ingestion: vec![TableIngestion {
                table: "referencedata_\"x\"".into(),
                rows: 10,
                newest_event_age_seconds: Some(1.5),
                consumer_lag: Some(0),
                errors: 2,
            }],
            raw_errors: Some(2),
            ..Default::default()
        };
        let text = render(&status);
        assert!(text.contains("olmis_status 2\n"), "{text}");
        assert!(text.contains("olmis_connector_task_running{connector=\"openlmis-source\",task=\"0\"} 0\n"));
        assert!(text.contains("olmis_replication_slot_lag_bytes{slot=\"olmis\"} 4096\n"));
        assert!(text.contains("olmis_replication_slot_wal_status{slot=\"olmis\",wal_status=\"lost\"} 0\n"));
        assert!(text.contains("olmis_raw_newest_event_age_seconds{table=\"referencedata_\\\"x\\\"\"} 1.500\n"));
        assert!(text.contains("# TYPE olmis_raw_errors gauge\nolmis_raw_errors 2\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("olmis_"), "{line}");
        }
    }
}
