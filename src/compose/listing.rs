//! The `ps` view of a project's containers: one row per container with service, state, health,
//! uptime and published ports, as a table for people and as JSON for machines.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::clients::docker::{Container, PublishedPort, RunState};
use crate::output::{Report, Styles};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub service: String,
    pub container: String,
    pub state: RunState,
    /// Only for exited or restarting containers.
    pub exit_code: Option<i64>,
    /// "healthy", "unhealthy", "starting", or null without a health check.
    pub health: Option<String>,
    /// RFC 3339, for running containers.
    pub started_at: Option<String>,
    pub uptime_secs: Option<u64>,
    pub ports: Vec<PublishedPort>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub project: String,
    pub services: Vec<Row>,
}

impl Listing {
    pub fn new(project: &str, containers: &[Container], now: SystemTime) -> Listing {
        let services = containers
            .iter()
            .map(|c| {
                let up = matches!(c.state, RunState::Running | RunState::Paused);
                let started = c.started_at.filter(|_| up);
                Row {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    state: c.state,
                    exit_code: matches!(c.state, RunState::Exited | RunState::Restarting | RunState::Dead)
                        .then_some(c.exit_code),
                    health: c.health.map(|h| h.as_str().to_string()),
                    started_at: started.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                    uptime_secs: started.map(|t| now.duration_since(t).unwrap_or_default().as_secs()),
                    ports: c.ports.clone(),
                }
            })
            .collect();
        Listing { project: project.to_string(), services }
    }
}

impl Report for Listing {
    fn human(&self, styles: &Styles) -> String {
        if self.services.is_empty() {
            return format!("No containers in compose project `{}`: start them with `olmisctl up`.\n", self.project);
        }
        let header = ["SERVICE", "STATE", "HEALTH", "UPTIME", "PORTS"].map(String::from);
        let rows: Vec<[String; 5]> = self
            .services
            .iter()
            .map(|r| {
                let state = match r.exit_code {
                    Some(code) => format!("{} ({code})", r.state.as_str()),
                    None => r.state.as_str().to_string(),
                };
                [
                    r.service.clone(),
                    state,
                    r.health.clone().unwrap_or_else(|| "-".into()),
                    r.uptime_secs.map(|s| format_uptime(Duration::from_secs(s))).unwrap_or_else(|| "-".into()),
                    if r.ports.is_empty() {
                        "-".into()
                    } else {
                        r.ports.iter().map(format_port).collect::<Vec<_>>().join(", ")
                    },
                ]
            })
            .collect();
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 5]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            text.trim_end().to_string()
        };
        let mut out = format!("{}\n", styles.bold.apply_to(line(&header)));
        for (row, data) in rows.iter().zip(&self.services) {
            let text = line(row);
            let style = match (data.state, data.health.as_deref()) {
                (RunState::Running, Some("unhealthy")) => &styles.fail,
                (RunState::Running, Some("starting")) => &styles.warn,
                (RunState::Running, _) => &styles.ok,
                (RunState::Exited, _) if data.exit_code == Some(0) => &styles.dim,
                _ => &styles.fail,
            };
            out.push_str(&format!("{}\n", style.apply_to(text)));
        }
        out
    }
}

pub fn format_port(p: &PublishedPort) -> String {
    format!("{}:{}->{}/{}", p.host_ip, p.host_port, p.container_port, p.protocol)
}

/// Compact uptime: "42s", "5m 3s", "3h 5m", "2d 3h".
pub fn format_uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::docker::{Health, RestartPolicy};

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn container(service: &str, state: RunState, health: Option<Health>, exit_code: i64) -> Container {
        Container {
            id: format!("{service}-id"),
            name: format!("p-{service}-1"),
            service: service.into(),
            state,
            exit_code,
            health,
            check_timing: None,
            last_check: None,
            restart_policy: RestartPolicy::No,
            restart_count: 0,
            started_at: Some(at(1_700_000_000)),
            ports: vec![],
        }
    }

    #[test]
    fn uptime_is_compact() {
        assert_eq!(format_uptime(Duration::from_secs(42)), "42s");
        assert_eq!(format_uptime(Duration::from_secs(303)), "5m 3s");
        assert_eq!(format_uptime(Duration::from_secs(3 * 3600 + 5 * 60 + 9)), "3h 5m");
        assert_eq!(format_uptime(Duration::from_secs(2 * 86400 + 3 * 3600)), "2d 3h");
    }

    #[test]
    fn table_shows_state_health_uptime_and_ports() {
        let mut web = container("web", RunState::Running, Some(Health::Healthy), 0);
        web.ports = vec![PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: 8088,
            container_port: 8088,
            protocol: "tcp".into(),
        }];
        let job = container("job", RunState::Exited, None, 3);
        let worker = container("worker", RunState::Running, None, 0);
        let listing = Listing::new("olmis", &[job, web, worker], at(1_700_000_000 + 303));
        insta::assert_snapshot!(listing.human(&Styles::plain()), @r"
        SERVICE  STATE       HEALTH   UPTIME  PORTS
        job      exited (3)  -        -       -
        web      running     healthy  5m 3s   127.0.0.1:8088->8088/tcp
        worker   running     -        5m 3s   -
        ");
        let json = serde_json::to_value(&listing).unwrap();
        assert_eq!(json["services"][1]["uptime_secs"], 303);
        assert_eq!(json["services"][1]["health"], "healthy");
        assert_eq!(json["services"][1]["started_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["services"][0]["exit_code"], 3);
        assert_eq!(json["services"][0]["state"], "exited");
        assert!(json["services"][2]["health"].is_null());
    }

    #[test]
    fn an_empty_project_says_how_to_start_it() {
        let listing = Listing::new("olmis", &[], at(0));
        assert!(listing.human(&Styles::plain()).contains("olmisctl up"));
    }
}
