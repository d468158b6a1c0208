//! The export's consistent snapshot and its watermark.
//!
//! Bootstrap rows join CDC events in `raw.events_<t>`, where the current state of a row is its latest
//! event by `(lsn, kafka_offset)`. Debezium's `lsn` on a change is the WAL position of that change's
//! own record, not of its commit; so a transaction that was already writing when a snapshot was
//! taken, and commits after it, has changes with positions *below* the snapshot's WAL position while
//! being invisible to the snapshot. With a plain `pg_current_wal_lsn()` watermark such a change would
//! rank below the (older) snapshot row and be lost from the current state. (That function also
//! returns the WAL *write* position, which can lag records already inserted.)
//!
//! So the snapshot is taken while writers to the exported tables are held off:
//! 1. a control connection locks the tables `IN SHARE MODE` (waits for running writers to finish and
//!    blocks new ones; milliseconds in practice, bounded by a short `lock_timeout` with retries so an
//!    application is never stalled for long);
//! 2. it exports its snapshot and reads `pg_current_wal_insert_lsn()` = L in the same statement;
//! 3. the export connection adopts that snapshot (`SET TRANSACTION SNAPSHOT`), then the locks go.
//!
//! Every change visible in the snapshot has a record starting below L; every change it doesn't see
//! was written after the locks went, so its record starts at L or later. Records start at 8-byte
//! aligned positions, so the events carry `L - 1`: strictly after every visible change and strictly
//! before every later one, whatever `kafka_offset` says.
//!
//! `SHARE` locks need UPDATE, DELETE or TRUNCATE privilege. Without it the export takes its own
//! snapshot at a moment no other transaction of this database holds a transaction id (retrying for a
//! few seconds) and records `consistency: unlocked` with a warning.

use std::time::Duration;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::catalog::quote_table;
use super::debezium::write_iso_utc;
use super::manifest::Snapshot;
use crate::clients::postgres::{self, SERVICE, describe, query_error};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::settings::{Settings, TableName};

const LOCK_TIMEOUT: &str = "2s";
const LOCK_ATTEMPTS: u32 = 10;
const UNLOCKED_WAIT: Duration = Duration::from_secs(10);

/// The export's connections, each inside a REPEATABLE READ READ ONLY transaction on the same
/// snapshot (the first one's transaction keeps an unlocked snapshot alive for the others).
pub struct Snapshotted {
    pub clients: Vec<Client>,
    pub snapshot: Snapshot,
}

/// Takes the snapshot on `connections` (at least 1) connections.
pub async fn take(settings: &Settings, tables: &[TableName], connections: usize, out: &Output) -> Result<Snapshotted> {
    let control = postgres::connect(settings).await?;
    for table in tables {
        super::catalog::ensure_exists(&control, table).await?;
    }
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        clients.push(postgres::connect(settings).await?);
    }
    let list = tables.iter().map(quote_table).collect::<Vec<_>>().join(", ");
    for attempt in 1..=LOCK_ATTEMPTS {
        let locked = control
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; \
                 LOCK TABLE {list} IN SHARE MODE"
            ))
            .await;
        match locked {
            Ok(()) => return adopt_locked_snapshot(&control, clients).await,
            Err(e) => {
                rollback(&control).await;
                match e.code() {
                    Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
                        out.warn(format!(
                            "cannot lock the exported tables ({}): taking the snapshot without holding writers off; \
                             a transaction in flight at that moment could rank behind the snapshot's rows until the \
                             row changes again. Grant UPDATE on the tables to SOURCE_PG_USER for a locked snapshot.",
                            describe(&e)
                        ));
                        return unlocked_snapshot(clients).await;
                    }
                    Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE && attempt < LOCK_ATTEMPTS => {
                        tracing::debug!("lock attempt {attempt} timed out; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => {
                        let holders = lock_holders(&control, tables).await;
                        return Err(Error::service(
                            SERVICE,
                            format!(
                                "could not get a moment without writers on the exported tables after {LOCK_ATTEMPTS} \
                                 tries of {LOCK_TIMEOUT}{holders}"
                            ),
                        )
                        .with_hint("a long transaction keeps writing to these tables; retry when it has finished"));
                    }
                    _ => return Err(query_error("locking the exported tables for the snapshot", &e)),
                }
            }
        }
    }
    Err(Error::service(SERVICE, "could not take the snapshot"))
}

async fn rollback(client: &Client) {
    if let Err(e) = client.batch_execute("ROLLBACK").await {
        tracing::debug!("rollback: {e}");
    }
}

struct Position {
    lsn: String,
    lsn_number: u64,
    time_ms: i64,
}

const POSITION_COLUMNS: &str = "l::text, (l - '0/0'::pg_lsn)::text, (extract(epoch FROM c) * 1000)::bigint";

fn position(row: &tokio_postgres::Row, first: usize) -> Result<Position> {
    let lsn: String = row.get(first);
    let number: String = row.get(first + 1);
    let lsn_number = number
        .parse::<u64>()
        .map_err(|_| Error::service(SERVICE, format!("unexpected WAL position {number:?} for {lsn}")))?;
    Ok(Position { lsn, lsn_number, time_ms: row.get(first + 2) })
}

fn snapshot_of(p: Position, consistency: &str) -> Snapshot {
    let mut time = Vec::new();
    write_iso_utc(&mut time, p.time_ms * 1000, 3);
    Snapshot {
        lsn: p.lsn,
        event_lsn: p.lsn_number.saturating_sub(1),
        time: String::from_utf8_lossy(&time).into_owned(),
        time_ms: p.time_ms,
        consistency: consistency.to_string(),
    }
}

async fn adopt(client: &Client, snapshot_id: &str) -> Result<()> {
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            snapshot_id.replace('\'', "''")
        ))
        .await
        .map_err(|e| query_error("adopting the exported snapshot", &e))
}

async fn adopt_locked_snapshot(control: &Client, clients: Vec<Client>) -> Result<Snapshotted> {
    let row = control
        .query_one(
            &format!(
                "SELECT s, {POSITION_COLUMNS} FROM \
                 (SELECT pg_export_snapshot() AS s, pg_current_wal_insert_lsn() AS l, clock_timestamp() AS c) x"
            ),
            &[],
        )
        .await
        .map_err(|e| query_error("exporting the snapshot", &e))?;
    let snapshot_id: String = row.get(0);
    let pos = position(&row, 1)?;
    for client in &clients {
        adopt(client, &snapshot_id).await?;
    }
    control.batch_execute("COMMIT").await.map_err(|e| query_error("releasing the snapshot locks", &e))?;
    Ok(Snapshotted { clients, snapshot: snapshot_of(pos, "locked") })
}

async fn unlocked_snapshot(clients: Vec<Client>) -> Result<Snapshotted> {
    let deadline = tokio::time::Instant::now() + UNLOCKED_WAIT;
    let client = &clients[0];
    loop {
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| query_error("starting the snapshot transaction", &e))?;
        // The first statement takes the snapshot; the writer count is read right after it.
        let row = client
            .query_one(
                &format!(
                    "SELECT {POSITION_COLUMNS}, (SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL \
                     AND pid <> pg_backend_pid() AND (datname = current_database() OR datname IS NULL)) \
                     FROM (SELECT pg_current_wal_insert_lsn() AS l, clock_timestamp() AS c) x"
                ),
                &[],
            )
            .await
            .map_err(|e| query_error("taking the snapshot", &e))?;
        let writers: i64 = row.get(3);
        if writers == 0 || tokio::time::Instant::now() >= deadline {
            let snapshot = snapshot_of(position(&row, 0)?, "unlocked");
            let id: String = client
                .query_one("SELECT pg_export_snapshot()", &[])
                .await
                .map_err(|e| query_error("exporting the snapshot", &e))?
                .get(0);
            for other in &clients[1..] {
                adopt(other, &id).await?;
            }
            return Ok(Snapshotted { clients, snapshot });
        }
        rollback(client).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Who holds locks that conflict with SHARE on the tables (writers, a VACUUM, DDL), for the error
/// message.
async fn lock_holders(client: &Client, tables: &[TableName]) -> String {
    let names: Vec<String> = tables.iter().map(quote_table).collect();
    let rows = client
        .query(
            "SELECT DISTINCT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
             coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0) \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.granted AND l.pid <> pg_backend_pid() AND l.mode IN ('RowExclusiveLock', \
             'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') \
             AND l.relation IN (SELECT to_regclass(n)::oid FROM unnest($1::text[]) n)",
            &[&names],
        )
        .await;
    match rows {
        Ok(rows) if !rows.is_empty() => {
            let list: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "pid {} (user {}, application {:?}, transaction open {}s)",
                        r.get::<_, i32>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        r.get::<_, i64>(3)
                    )
                })
                .collect();
            format!("; holding them: {}", list.join(", "))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_sit_just_below_the_snapshot_position() {
        let s = snapshot_of(
            Position { lsn: "0/22E2410".into(), lsn_number: 0x22E2410, time_ms: 1_709_296_496_789 },
            "locked",
        );
        assert_eq!(s.event_lsn, 0x22E240F);
        assert_eq!(s.time, "2024-03-01T12:34:56.789Z");
    }
}
