//! The other parts of the platform that `recover-slot` drives, in one place: the replication slot,
//! the Debezium connector (the CDC module) and the dbt build (the dbt module).

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::cdc::{connector_config, register, source_facts};
use crate::clients::connect::Connect;
use crate::clients::postgres::query_error;
use crate::commands::register_connector::{Source, prepare_source};
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
                source_facts::drop_slot(pg, slot).await?;
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

/// Stops the connector, clears its stored offsets (positions in the lost slot, which a connector of
/// the same name would otherwise resume from) and deletes it.
pub async fn delete_connector(ctx: &Ctx, timeout: Duration) -> Result<String> {
    let connect = Connect::new(&ctx.settings)?;
    let name = &ctx.settings.cdc.connector_name;
    if connect.status(name).await?.is_none() {
        return Ok(format!("connector {name} was not registered"));
    }
    connect.stop(name).await?;
    register::wait_stopped(&connect, name, timeout).await?;
    connect.reset_offsets(name).await?;
    connect.delete(name).await?;
    Ok(format!("deleted connector {name} and its offsets"))
}

/// Registers the connector from the package template with `snapshot.mode = no_data`: created
/// stopped, any offsets left under its name cleared, then started, so it streams from the slot's
/// starting point without reading the tables again.
pub async fn register_connector_without_snapshot(ctx: &Ctx, timeout: Duration) -> Result<String> {
    let config = connector_config::load(&ctx.settings)?.with("snapshot.mode", "no_data");
    if let Source::Blocked(_) = prepare_source(ctx, &config, true).await? {
        return Err(Error::Failed("the source preflight failed (findings above)".into())
            .with_hint("fix the failed checks, then resume at register-connector"));
    }
    let connect = Connect::new(&ctx.settings)?;
    let name = &ctx.settings.cdc.connector_name;
    if connect.status(name).await?.is_some() {
        delete_connector(ctx, timeout).await?;
    }
    connect.create_stopped(name, config.map()).await?;
    register::wait_stopped(&connect, name, timeout).await?;
    connect.reset_offsets(name).await?;
    connect.resume(name).await?;
    Ok(format!("registered connector {name} with snapshot.mode=no_data"))
}

/// Waits until the connector and its tasks run and the slot has a reader.
pub async fn wait_streaming(ctx: &Ctx, pg: &Client, timeout: Duration) -> Result<String> {
    let connect = Connect::new(&ctx.settings)?;
    let name = &ctx.settings.cdc.connector_name;
    let slot = &ctx.settings.source.slot_name;
    let progress = ctx.out.progress(format!("waiting for {name} to stream"));
    let deadline = Instant::now() + timeout;
    if let Err(e) = register::wait_running(&connect, name, timeout, |s| progress.update(s)).await {
        progress.fail("not running");
        return Err(e);
    }
    loop {
        if let Some((true, _)) = source_facts::slot_position(pg, slot).await? {
            progress.finish("streaming");
            return Ok(format!("connector {name} running, slot {slot} active"));
        }
        if Instant::now() >= deadline {
            progress.fail("slot not read");
            return Err(Error::Timeout {
                what: format!("connector {name} to read slot {slot}"),
                after_secs: timeout.as_secs(),
                detail: "the connector runs but the slot has no reader".into(),
                hint: Some("`olmisctl connector status` shows the task's state and trace".into()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `dbt-build` of the configured packages, as the `dbt-build` command runs it (its summary is printed).
pub async fn dbt_build(ctx: &Ctx) -> Result<String> {
    // Recovery's job is the slot and the raw events; an operator running it away from the project
    // checkout gets them back and is told how the marts catch up, instead of a failed recovery.
    let runner = ctx.settings.project_dir.join("dbt").join("dbt_project.yml");
    if !runner.is_file() {
        let message = format!(
            "skipped: no dbt runner project at {}; the next platform_refresh, or `olmisctl dbt-build` from the project directory, rebuilds the marts",
            runner.display()
        );
        ctx.out.warn(&message);
        return Ok(message);
    }
    match crate::dbt::run::run(ctx, crate::dbt::run::Goal::Build { full_refresh: false }, None).await? {
        crate::error::Exit::Ok => Ok("marts built and tested".into()),
        _ => Err(Error::Failed("dbt build failed: the summary above names the models and tests".into())),
    }
}
