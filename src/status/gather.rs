//! Fills a [`PlatformStatus`] from the services: every part is read concurrently, and a part that
//! can't be read leaves its figure empty and adds a finding saying why, so one dead service never
//! hides the state of the others.

use crate::airflow::REFRESH_DAG;
use crate::cdc::source_facts;
use crate::checks::{Check, Level};
use crate::clickhouse::{observe, topics};
use crate::clients::airflow::Airflow;
use crate::clients::clickhouse::ClickHouse;
use crate::clients::connect::Connect;
use crate::clients::postgres;
use crate::dbt::project::Runner;
use crate::error::Result;
use crate::services;
use crate::settings::Settings;

use super::model::*;

pub async fn gather(settings: &Settings) -> PlatformStatus {
    let (checks, connector, slot, ingestion, refresh) = tokio::join!(
        services::probe(settings),
        connector(settings),
        slot(settings),
        ingestion(settings),
        refresh(settings)
    );
    let mut status =
        PlatformStatus { services: checks.into_iter().map(service).collect(), ..PlatformStatus::default() };
    status.connector = status.absorb("connector", connector);
    status.slot = status.absorb("replication slot", slot);
    if let Some(ingestion) = status.absorb("ingestion", ingestion) {
        status.raw_errors = Some(ingestion.tables.iter().map(|t| t.errors).sum());
        status.ingestion = ingestion.tables;
        status.findings.extend(ingestion.findings);
    }
    status.refresh = status.absorb("platform_refresh", refresh).flatten();
    status.dbt = status.absorb("last dbt run", dbt(settings)).flatten();
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

struct Ingestion {
    tables: Vec<TableIngestion>,
    /// What `verify ingestion` would warn or fail on.
    findings: Vec<Finding>,
}

/// Per table: events landed, newest event's age, the consumer's lag and error rows; plus the
/// ingestion verdicts that are not a pass.
async fn ingestion(settings: &Settings) -> Result<Ingestion> {
    let set = topics::resolve(settings)?;
    let ch = ClickHouse::new(settings)?;
    let snapshot = observe::observe(&ch, &settings.clickhouse.raw_database, &set.topics, None).await?;
    let tables = snapshot
        .topics
        .iter()
        .map(|o| TableIngestion {
            table: o.topic.id(),
            rows: o.events,
            newest_event_age_seconds: o.newest_ingested_ms.map(|t| (snapshot.now_ms - t) as f64 / 1000.0),
            consumer_lag: o.consumer.as_ref().and_then(|c| c.lag),
            errors: o.errors,
        })
        .collect();
    let verdicts = crate::clickhouse::ingestion::assess(&snapshot, settings.dbt.freshness_max_age_minutes);
    let findings = verdicts
        .checks
        .into_iter()
        .filter(|c| c.level != Level::Pass)
        .map(|c| Finding { level: c.level, message: format!("ingestion of {}: {}", c.name, c.message) })
        .collect();
    Ok(Ingestion { tables, findings })
}

/// The last dbt run in the runner project; `None` before the first.
fn dbt(settings: &Settings) -> Result<Option<DbtLastRun>> {
    let runner = Runner::locate(&settings.project_dir, std::env::var("DBT_TARGET_PATH").ok().as_deref())?;
    Ok(crate::dbt::verify::read_last_run(&runner)?.map(|(run, summary)| DbtLastRun {
        finished_at: run.metadata.generated_at,
        models_built: summary.nodes.built as u32,
        tests_failed: (summary.tests.failed + summary.tests.errored) as u32,
        failing_tests: summary
            .problems
            .into_iter()
            .filter(|p| p.level == Level::Fail && p.kind == "test")
            .map(|p| p.name)
            .collect(),
    }))
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
