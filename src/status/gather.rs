//! Fills a [`PlatformStatus`] from the services: every part is read concurrently, and a part that
//! can't be read leaves its figure empty and adds a finding saying why, so one dead service never
//! hides the state of the others.

use crate::airflow::REFRESH_DAG;
use crate::cdc::source_facts;
use crate::checks::{Check, Level};
use crate::clients::airflow::Airflow;
use crate::clients::connect::Connect;
use crate::clients::postgres;
use crate::error::Result;
use crate::services;
use crate::settings::Settings;

use super::model::*;

pub async fn gather(settings: &Settings) -> PlatformStatus {
    let (checks, connector, slot, refresh) =
        tokio::join!(services::probe(settings), connector(settings), slot(settings), refresh(settings));
    let mut status =
        PlatformStatus { services: checks.into_iter().map(service).collect(), ..PlatformStatus::default() };
    status.connector = status.absorb("connector", connector);
    status.slot = status.absorb("replication slot", slot);
    status.refresh = status.absorb("platform_refresh", refresh).flatten();
    status
}

fn service(check: Check) -> ServiceHealth {
    ServiceHealth { service: check.name, level: check.level, detail: check.message }
}

impl PlatformStatus {
    /// The figure when it could be read; otherwise a failing finding naming what and why.
    fn absorb<T>(&mut self, what: &str, read: Result<T>) -> Option<T> {
        match read {
            Ok(value) => Some(value),
            Err(e) => {
                self.findings.push(Finding { level: Level::Fail, message: format!("{what}: cannot read: {e}") });
                None
            }
        }
    }
}

async fn connector(settings: &Settings) -> Result<ConnectorState> {
    let connect = Connect::new(settings)?;
    let name = &settings.cdc.connector_name;
    // The config is the truth about existence: a deleted connector's status lingers a while.
    let status = match connect.config(name).await? {
        None => None,
        Some(_) => connect.status(name).await?,
    };
    Ok(match status {
        None => ConnectorState { name: name.clone(), state: "MISSING".into(), tasks: Vec::new() },
        Some(s) => ConnectorState {
            name: name.clone(),
            state: s.connector.state,
            tasks: s.tasks.into_iter().map(|t| TaskState { id: t.id, state: t.info.state }).collect(),
        },
    })
}

async fn slot(settings: &Settings) -> Result<SlotState> {
    let client = postgres::connect(settings).await?;
    let name = &settings.source.slot_name;
    Ok(match source_facts::slot(&client, name).await? {
        None => SlotState { name: name.clone(), exists: false, active: false, wal_status: None, lag_bytes: None },
        Some(s) => SlotState {
            name: name.clone(),
            exists: true,
            active: s.active,
            wal_status: s.wal_status,
            lag_bytes: s.lag_bytes,
        },
    })
}

/// The newest platform_refresh run with its task states; `None` before the first run.
async fn refresh(settings: &Settings) -> Result<Option<RefreshRun>> {
    let airflow = Airflow::login(settings).await?;
    let Some(run) = airflow.latest_run(REFRESH_DAG).await? else { return Ok(None) };
    let tasks = airflow
        .task_instances(REFRESH_DAG, &run.dag_run_id)
        .await?
        .into_iter()
        .map(|t| RefreshTask { task_id: t.task_id, state: t.state.unwrap_or_else(|| "none".into()) })
        .collect();
    Ok(Some(RefreshRun { run_id: run.dag_run_id, state: run.state, tasks }))
}
