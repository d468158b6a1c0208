//! Database side of `demo seed`: what the database already holds, dropping and creating the demo
//! schemas, and streaming generated rows in with COPY. Every function runs inside the caller's
//! transaction, so a failure or Ctrl-C leaves the database as it was.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Transaction;

use super::copy::Table;
use super::{PLATFORM_SQL, SCHEMAS, schema_phases};
use crate::clients::postgres::{describe, query_error};
use crate::error::{Error, Result};

/// Serialises concurrent `demo seed` runs on one database (an arbitrary constant: "olmisdem").
const LOCK_KEY: i64 = 0x6f6c_6d69_7364_656d;

/// Rows are sent to the server in chunks of at least this many bytes (or the rest of the table),
/// encoded a few hundred rows at a time.
const CHUNK_BYTES: usize = 1 << 20;
const ENCODE_ROWS: usize = 512;

/// What a previous `demo seed` recorded in `public.olmis_demo_seed`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Marker {
    pub seed: u64,
    pub scale: u32,
    pub generator_version: i32,
    pub olmisctl_version: String,
    pub row_count: i64,
    pub seeded_at: String,
}

#[derive(Debug)]
pub enum State {
    /// None of the demo schemas exist.
    Empty,
    /// The demo schemas exist and the marker says which data they hold.
    Seeded(Marker),
    /// Some of the demo schemas exist but no marker: not ours (possibly a real OpenLMIS database).
    Foreign(Vec<String>),
}

/// Takes the seeding lock (released at commit or rollback) and reads the database's state.
pub async fn inspect(tx: &Transaction<'_>) -> Result<State> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(|e| query_error("waiting for other `demo seed` runs on this database", &e))?;
    let schemas: Vec<&str> = SCHEMAS.to_vec();
    let present: Vec<String> = tx
        .query("SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1", &[&schemas])
        .await
        .map_err(|e| query_error("listing schemas", &e))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if present.is_empty() {
        return Ok(State::Empty);
    }
    match read_marker(tx).await? {
        Some(marker) => Ok(State::Seeded(marker)),
        None => Ok(State::Foreign(present)),
    }
}

async fn read_marker(tx: &Transaction<'_>) -> Result<Option<Marker>> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('public.olmis_demo_seed') IS NOT NULL", &[])
        .await
        .map_err(|e| query_error("looking for the demo seed marker", &e))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = tx
        .query_opt(
            "SELECT seed, scale, generator_version, olmisctl_version, row_count, \
                    to_char(seeded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') \
             FROM public.olmis_demo_seed WHERE id = 1",
            &[],
        )
        .await
        .map_err(|e| query_error("reading the demo seed marker", &e))?;
    Ok(row.map(|row| Marker {
        // Stored as bigint/integer; written from u64/u32 by `write_marker`, so the casts round-trip.
        seed: row.get::<_, i64>(0) as u64,
        scale: row.get::<_, i32>(1) as u32,
        generator_version: row.get(2),
        olmisctl_version: row.get(3),
        row_count: row.get(4),
        seeded_at: row.get(5),
    }))
}

/// Drops the demo schemas and the marker row (the signal and heartbeat tables stay).
pub async fn drop_demo(tx: &Transaction<'_>) -> Result<()> {
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE; DELETE FROM public.olmis_demo_seed;", SCHEMAS.join(", "));
    tx.batch_execute(&sql).await.map_err(|e| ddl_error("dropping the demo schemas", &e))
}

/// Creates the OpenLMIS schemas and tables (without their foreign keys and indexes yet), and the
/// platform tables when missing.
pub async fn create_tables(tx: &Transaction<'_>) -> Result<()> {
    tx.batch_execute(PLATFORM_SQL)
        .await
        .map_err(|e| ddl_error("creating the signal, heartbeat and marker tables", &e))?;
    tx.batch_execute(schema_phases().0).await.map_err(|e| ddl_error("creating the demo schemas", &e))
}

/// Adds the foreign keys and indexes, checking the loaded rows once per table.
pub async fn add_constraints(tx: &Transaction<'_>) -> Result<()> {
    tx.batch_execute(schema_phases().1).await.map_err(|e| ddl_error("adding foreign keys and indexes", &e))
}

fn ddl_error(doing: &str, err: &tokio_postgres::Error) -> Error {
    let error = query_error(doing, err);
    if describe(err).contains("permission denied") {
        error.with_hint("SOURCE_PG_USER needs the CREATE privilege on the database (or seed as its owner)")
    } else {
        error
    }
}

/// Streams one table's rows in with COPY, calling `progress(rows sent)` after every chunk.
pub async fn copy_table(tx: &Transaction<'_>, table: &dyn Table, mut progress: impl FnMut(usize)) -> Result<Duration> {
    let started = Instant::now();
    let doing = format!("loading {}", table.name());
    let statement = format!("COPY {} ({}) FROM STDIN", table.name(), table.columns().join(", "));
    let sink = tx.copy_in::<_, Bytes>(&statement).await.map_err(|e| query_error(&doing, &e))?;
    futures_util::pin_mut!(sink);
    let mut buf = String::with_capacity(CHUNK_BYTES * 2);
    for start in (0..table.len()).step_by(ENCODE_ROWS) {
        let end = (start + ENCODE_ROWS).min(table.len());
        table.encode(start..end, &mut buf);
        if buf.len() >= CHUNK_BYTES || end == table.len() {
            let chunk = Bytes::from(std::mem::replace(&mut buf, String::with_capacity(CHUNK_BYTES * 2)));
            sink.send(chunk).await.map_err(|e| query_error(&doing, &e))?;
            progress(end);
        }
    }
    let written = sink.as_mut().finish().await.map_err(|e| query_error(&doing, &e))?;
    if written as usize != table.len() {
        return Err(Error::service(
            crate::clients::postgres::SERVICE,
            format!("{doing}: the server took {written} rows of {}", table.len()),
        ));
    }
    Ok(started.elapsed())
}

/// Records what was seeded, for the next run's [`inspect`].
pub async fn write_marker(tx: &Transaction<'_>, seed: u64, scale: u32, rows: usize) -> Result<()> {
    // The seed is stored as bigint: u64 values above i64::MAX wrap and read back unchanged.
    tx.execute(
        // Upsert: a marker can outlive its schemas when someone dropped them by hand.
        "INSERT INTO public.olmis_demo_seed (id, seed, scale, generator_version, olmisctl_version, row_count) \
         VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET seed = EXCLUDED.seed, \
         scale = EXCLUDED.scale, generator_version = EXCLUDED.generator_version, \
         olmisctl_version = EXCLUDED.olmisctl_version, row_count = EXCLUDED.row_count, seeded_at = now()",
        &[&(seed as i64), &(scale as i32), &super::GENERATOR_VERSION, &env!("CARGO_PKG_VERSION"), &(rows as i64)],
    )
    .await
    .map_err(|e| query_error("writing the demo seed marker", &e))?;
    Ok(())
}
