//! `status` for people (one screen) and for machines (`--json`): the same [`PlatformStatus`], with
//! the overall state and the time it was read.

use serde::Serialize;

use super::model::PlatformStatus;
use crate::checks::{Level, label};
use crate::error::Exit;
use crate::output::{Report, Styles};

#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// The worst state anywhere.
    pub status: Level,
    pub checked_at: String,
    #[serde(flatten)]
    pub platform: PlatformStatus,
}

impl StatusReport {
    pub fn new(platform: PlatformStatus, checked_at: String) -> StatusReport {
        StatusReport { status: platform.level(), checked_at, platform }
    }
}

/// 1536 -> "1.5 KiB".
pub fn bytes(n: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", units[unit]) }
}

/// 75.0 -> "1m15s".
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

impl Report for StatusReport {
    fn human(&self, st: &Styles) -> String {
        let p = &self.platform;
        let state = match self.status {
            Level::Pass => st.ok.apply_to("OK").to_string(),
            Level::Warn => st.warn.apply_to("WARNINGS").to_string(),
            Level::Fail => st.fail.apply_to("FAILING").to_string(),
        };
        let mut out = format!("{} {state}  {}\n", st.bold.apply_to("Platform"), st.dim.apply_to(&self.checked_at));

        out.push_str(&format!("\n{}\n", st.bold.apply_to("Services")));
        let width = p.services.iter().map(|s| s.service.len()).max().unwrap_or(0);
        for s in &p.services {
            out.push_str(&format!("  {} {:width$}  {}\n", label(s.level, st), s.service, s.detail));
        }

        out.push_str(&format!("\n{}\n", st.bold.apply_to("Change capture")));
        match &p.connector {
            Some(c) => {
                let tasks: Vec<String> = c.tasks.iter().map(|t| format!("{} {}", t.id, t.state)).collect();
                let tasks = if tasks.is_empty() { "no tasks".to_string() } else { tasks.join(", ") };
                out.push_str(&format!("  connector {}: {} (tasks: {tasks})\n", c.name, c.state));
            }
            None => out.push_str("  connector: unknown (see the findings)\n"),
        }
        match &p.slot {
            Some(s) if !s.exists => out.push_str(&format!("  slot {}: does not exist\n", s.name)),
            Some(s) => out.push_str(&format!(
                "  slot {}: {}, wal_status {}, lag {}\n",
                s.name,
                if s.active { "active" } else { "inactive" },
                s.wal_status.as_deref().unwrap_or("unknown"),
                s.lag_bytes.map(bytes).unwrap_or_else(|| "unknown".into())
            )),
            None => out.push_str("  slot: unknown (see the findings)\n"),
        }

        out.push_str(&format!("\n{}\n", st.bold.apply_to("Ingestion (raw events per table)")));
        if p.ingestion.is_empty() {
            out.push_str("  no figures (see the findings)\n");
        } else {
            let width = p.ingestion.iter().map(|t| t.table.len()).max().unwrap_or(0).max(5);
            out.push_str(&format!(
                "  {}\n",
                st.dim.apply_to(format!(
                    "{:width$}  {:>10}  {:>9}  {:>8}  {:>6}",
                    "TABLE", "EVENTS", "NEWEST", "LAG", "ERRORS"
                ))
            ));
            for t in &p.ingestion {
                let newest =
                    t.newest_event_age_seconds.map(|a| format!("{} ago", age(a))).unwrap_or_else(|| "-".into());
                let lag = t.consumer_lag.map(|l| l.to_string()).unwrap_or_else(|| "-".into());
                out.push_str(&format!(
                    "  {:width$}  {:>10}  {:>9}  {:>8}  {:>6}\n",
                    t.table, t.rows, newest, lag, t.errors
                ));
            }
        }
        if let Some(n) = p.raw_errors {
            out.push_str(&format!("  raw.errors: {n} message(s) that failed to parse\n"));
        }

        out.push_str(&format!("\n{}\n", st.bold.apply_to("Refresh and marts")));
        match &p.refresh {
            Some(r) => {
                let tasks: Vec<String> = r.tasks.iter().map(|t| format!("{} {}", t.task_id, t.state)).collect();
                out.push_str(&format!("  last platform_refresh {}: {} ({})\n", r.run_id, r.state, tasks.join(", ")));
            }
            None => out.push_str("  platform_refresh: no run yet\n"),
        }
        match &p.dbt {
            Some(d) => {
                out.push_str(&format!(
                    "  last dbt run {}: {} models built, {} tests failed\n",
                    d.finished_at, d.models_built, d.tests_failed
                ));
                for test in &d.failing_tests {
                    out.push_str(&format!("    {} {test}\n", st.fail.apply_to("failed:")));
                }
            }
            None => out.push_str("  dbt: no run recorded\n"),
        }

        if !p.findings.is_empty() {
            out.push_str(&format!("\n{}\n", st.bold.apply_to("Findings")));
            for f in &p.findings {
                out.push_str(&format!("  {} {}\n", label(f.level, st), f.message));
            }
        }
        out
    }

    /// 0 ok or warnings, 1 something is failing, 3 a service is down or unreachable.
    fn exit(&self) -> Exit {
        exit_for(&self.platform)
    }
}

pub fn exit_for(p: &PlatformStatus) -> Exit {
    if p.services.iter().any(|s| s.level == Level::Fail) {
        Exit::Service
    } else if p.level() == Level::Fail {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::*;

    #[test]
    fn sizes_and_ages_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(age(4.4), "4s");
        assert_eq!(age(75.0), "1m15s");
        assert_eq!(age(7260.0), "2h01m");
        assert_eq!(age(90000.0), "1d01h");
    }

    fn sample() -> PlatformStatus {
        PlatformStatus {
            services: vec![
                ServiceHealth { service: "kafka".into(), level: Level::Pass, detail: "broker answers".into() },
                ServiceHealth { service: "airflow".into(), level: Level::Pass, detail: "healthy".into() },
            ],
            connector: Some(ConnectorState {
                name: "openlmis-source".into(),
                state: "RUNNING".into(),
                tasks: vec![TaskState { id: 0, state: "FAILED".into() }],
            }),
            slot: Some(SlotState {
                name: "olmis".into(),
                exists: true,
                active: false,
                wal_status: Some("extended".into()),
                lag_bytes: Some(2048),
            }),
            ingestion: vec![TableIngestion {
                table: "referencedata_facilities".into(),
                rows: 2700,
                newest_event_age_seconds: Some(75.0),
                consumer_lag: Some(3),
                errors: 1,
            }],
            raw_errors: Some(1),
            refresh: Some(RefreshRun {
                run_id: "manual__1".into(),
                state: "failed".into(),
                tasks: vec![RefreshTask { task_id: "dbt_build".into(), state: "failed".into() }],
            }),
            dbt: Some(DbtLastRun {
                finished_at: "2026-01-01T00:00:00Z".into(),
                models_built: 35,
                tests_failed: 1,
                failing_tests: vec!["not_null_mart_x_id".into()],
            }),
            findings: vec![Finding { level: Level::Warn, message: "something odd".into() }],
        }
    }

    #[test]
    fn one_screen_shows_every_figure() {
        let report = StatusReport::new(sample(), "2026-01-01T00:00:00Z".into());
        insta::assert_snapshot!(report.human(&Styles::plain()));
        assert_eq!(report.exit(), Exit::Failed);
    }

    #[test]
    fn a_dead_service_exits_3() {
        let mut p = sample();
        p.services[0].level = Level::Fail;
        assert_eq!(exit_for(&p), Exit::Service);
        let healthy = PlatformStatus { services: sample().services, ..Default::default() };
        assert_eq!(exit_for(&healthy), Exit::Ok);
    }
}
