//! `verify services`, and the service part of `status` and `recover`: does every service of the
//! platform answer its health check? All probes run at once, each bounded by [`PROBE_TIMEOUT`], so a
//! dead service costs seconds, not minutes.

use std::time::Duration;

use crate::checks::Check;
use crate::clients::airflow;
use crate::clients::clickhouse::ClickHouse;
use crate::clients::connect::Connect;
use crate::clients::docker::{Container, Health, RunState};
use crate::clients::kafka;
use crate::clients::postgres;
use crate::clients::superset::Superset;
use crate::compose::Stack;
use crate::error::{Error, Result};
use crate::settings::{Runtime, Settings};

/// Longest a single health probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The services every deployment has, by the names checks and metrics use.
pub const SOURCE: &str = "source-postgresql";
pub const KAFKA: &str = "kafka";
pub const CONNECT: &str = "kafka-connect";
pub const CLICKHOUSE: &str = "clickhouse";
pub const SUPERSET: &str = "superset";
pub const AIRFLOW: &str = "airflow";

/// One check per service, in pipeline order; in compose mode also one per container.
pub async fn probe(settings: &Settings) -> Vec<Check> {
    let (source, kafka, connect, clickhouse, superset, airflow, containers) = tokio::join!(
        bounded(SOURCE, source(settings)),
        bounded(KAFKA, kafka(settings)),
        bounded(CONNECT, connect(settings)),
        bounded(CLICKHOUSE, clickhouse(settings)),
        bounded(SUPERSET, superset(settings)),
        bounded(AIRFLOW, airflow(settings)),
        containers(settings),
    );
    let mut checks = vec![source, kafka, connect, clickhouse, superset, airflow];
    checks.extend(containers);
    checks
}

/// Compose mode: each container of the project, running and (when it has one) passing its health
/// check. Nothing in external mode, where olmisctl manages no containers.
async fn containers(settings: &Settings) -> Vec<Check> {
    if settings.runtime != Runtime::Compose {
        return Vec::new();
    }
    let listed = async {
        let stack = Stack::connect(settings, "verify services").await?;
        stack.containers().await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, listed).await {
        Ok(Ok(containers)) if containers.is_empty() => vec![
            Check::fail("containers", format!("compose project `{}` has no containers", settings.compose_project))
                .with_hint("start the stack with `olmisctl up`"),
        ],
        Ok(Ok(containers)) => containers.iter().map(container).collect(),
        Ok(Err(e)) => vec![failed("containers", &e)],
        Err(_) => vec![Check::fail("containers", "the Docker engine did not answer in time")],
    }
}

fn container(c: &Container) -> Check {
    let name = format!("container {}", c.service);
    let health = c.health.map(|h| format!(", {}", h.as_str())).unwrap_or_default();
    let state = format!("{}{health}", c.state.as_str());
    if c.is_up() {
        Check::pass(name, state)
    } else if c.state == RunState::Running && c.health == Some(Health::Starting) {
        Check::warn(name, state).with_hint("still starting: `olmisctl up` waits until it is ready")
    } else if c.state == RunState::Running {
        Check::fail(name, state).with_hint(format!("`olmisctl logs {}` shows why", c.service))
    } else {
        Check::fail(name, format!("{state} (exit code {})", c.exit_code))
            .with_hint(format!("`olmisctl logs {0}` shows why; `olmisctl up {0}` starts it", c.service))
    }
}

/// A probe's outcome as a check: its message on success, the error and its hint on failure.
async fn bounded(name: &str, probe: impl std::future::Future<Output = Result<Check>>) -> Check {
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(check)) => check,
        Ok(Err(e)) => failed(name, &e),
        Err(_) => Check::fail(name, format!("no answer within {}s", PROBE_TIMEOUT.as_secs()))
            .with_hint("the service is overloaded or a firewall drops the traffic"),
    }
}

/// A check for a service that failed us, with the error's own hint when it has one.
pub fn failed(name: &str, e: &Error) -> Check {
    let check = Check::fail(name, e.to_string());
    match e.hint() {
        Some(hint) => check.with_hint(hint),
        None => check,
    }
}

async fn source(settings: &Settings) -> Result<Check> {
    let client = postgres::connect(settings).await?;
    let version: String = client
        .query_one("SELECT current_setting('server_version')", &[])
        .await
        .map_err(|e| postgres::query_error("reading the server version", &e))?
        .get(0);
    let s = &settings.source;
    Ok(Check::pass(SOURCE, format!("PostgreSQL {version} at {}:{}/{}", s.host, s.port, s.db)))
}

async fn kafka(settings: &Settings) -> Result<Check> {
    let broker = kafka::first_answering(&settings.cdc.kafka_bootstrap_servers, PROBE_TIMEOUT).await?;
    Ok(Check::pass(KAFKA, format!("broker {} answers ({} APIs)", broker.address, broker.apis)))
}

async fn connect(settings: &Settings) -> Result<Check> {
    let connect = Connect::new(settings)?;
    let plugins = connect.plugins().await?;
    Ok(if plugins.iter().any(|p| p.class == crate::cdc::connector_config::CONNECTOR_CLASS) {
        Check::pass(CONNECT, format!("{} answers, Debezium PostgreSQL plugin installed", connect.url()))
    } else {
        Check::fail(CONNECT, format!("{} answers, but the Debezium PostgreSQL plugin is not installed", connect.url()))
            .with_hint("install debezium-connector-postgres on the worker's plugin.path")
    })
}

async fn clickhouse(settings: &Settings) -> Result<Check> {
    let ch = ClickHouse::new(settings)?;
    let version = ch.scalar("SELECT version()").await?;
    Ok(Check::pass(CLICKHOUSE, format!("ClickHouse {version} at {}", ch.url())))
}

async fn superset(settings: &Settings) -> Result<Check> {
    let superset = Superset::new(settings)?;
    superset.health().await?;
    Ok(Check::pass(SUPERSET, format!("{} answers /health", superset.url())))
}

async fn airflow(settings: &Settings) -> Result<Check> {
    let sick = crate::airflow::unhealthy_parts(&airflow::health(settings).await?);
    Ok(if sick.is_empty() {
        Check::pass(AIRFLOW, format!("{}: metadatabase, scheduler and dag processor healthy", settings.airflow.url))
    } else {
        Check::fail(AIRFLOW, format!("{}: not healthy: {}", settings.airflow.url, sick.join(", ")))
            .with_hint("look at the Airflow logs (`olmisctl logs airflow-scheduler` in compose mode)")
    })
}
