//! The other parts of the platform that `recover-slot` drives, in one place: the replication slot,
//! the Debezium connector (the CDC module) and the dbt build (the dbt module).

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::clients::postgres::query_error;
use crate::context::Ctx;
use crate::error::{Error, Result};

/// Drops the slot once nothing streams from it any more (the walsender of a deleted connector can
/// outlive it by a moment).
pub async fn drop_slot(pg: &Client, slot: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let row = pg
            .query_opt("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
            .await
            .map_err(|e| query_error("reading the replication slot", &e))?;
        match row.map(|r| r.get::<_, Option<i32>>(0)) {
            None => return Ok(format!("slot {slot} was already gone")),
            Some(None) => {
                pg.execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                    .await
                    .map_err(|e| query_error(&format!("dropping replication slot {slot}"), &e))?;
                return Ok(format!("dropped slot {slot}"));
            }
            Some(Some(pid)) if Instant::now() >= deadline => {
                return Err(Error::Timeout {
                    what: format!("replication slot {slot} to be released"),
                    after_secs: timeout.as_secs(),
                    detail: format!("process {pid} still streams from it"),
                    hint: Some(format!("find it in pg_stat_replication; SELECT pg_terminate_backend({pid}) ends it")),
                });
            }
            Some(Some(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Creates the logical slot with pgoutput unless it exists.
pub async fn create_slot(pg: &Client, slot: &str) -> Result<String> {
    let exists = pg
        .query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .map_err(|e| query_error("reading the replication slot", &e))?
        .is_some();
    if exists {
        return Ok(format!("slot {slot} exists"));
    }
    let row = pg
        .query_one("SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", &[&slot])
        .await
        .map_err(|e| query_error(&format!("creating replication slot {slot}"), &e))?;
    Ok(format!("created slot {slot} at LSN {}", row.get::<_, String>(0)))
}

fn unconnected(what: &str, module: &str) -> Error {
    Error::NotImplemented { command: format!("{what} (needs the {module} module)") }
}

pub async fn delete_connector(_ctx: &Ctx) -> Result<String> {
    Err(unconnected("deleting the connector", "CDC"))
}

pub async fn register_connector_without_snapshot(_ctx: &Ctx, _timeout: Duration) -> Result<String> {
    Err(unconnected("registering the connector", "CDC"))
}

pub async fn wait_streaming(_ctx: &Ctx, _pg: &Client, _timeout: Duration) -> Result<String> {
    Err(unconnected("waiting for the connector", "CDC"))
}

pub async fn dbt_build(_ctx: &Ctx) -> Result<String> {
    Err(unconnected("building the marts", "dbt"))
}
