//! Gathers the preflight's facts from the source PostgreSQL (catalog reads only, as
//! SOURCE_PG_USER, so privileges are checked for the user that will replicate), and applies the
//! fixes the preflight offers.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::preflight::{PublicationFacts, SlotFacts, SourceFacts, SourceFix, TableFacts, Wants};
use super::{HEARTBEAT_TABLE, SIGNAL_TABLE};
use crate::clients::postgres::query_error;
use crate::error::Result;
use crate::settings::TableName;

const SERVER: &str = "
SELECT current_setting('server_version'),
       current_setting('wal_level'),
       current_setting('max_replication_slots')::bigint,
       (SELECT count(*) FROM pg_replication_slots),
       current_setting('max_wal_senders')::bigint,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'),
       current_user::text,
       r.rolsuper,
       r.rolreplication OR EXISTS (SELECT 1 FROM pg_roles g
                                   WHERE g.rolname = 'rds_replication' AND pg_has_role(r.oid, g.oid, 'MEMBER')),
       has_database_privilege(current_database(), 'CREATE'),
       coalesce((SELECT has_schema_privilege(oid, 'CREATE') FROM pg_namespace WHERE nspname = 'public'), false)
FROM pg_roles r WHERE r.rolname = current_user";

const TABLES: &str = "
SELECT n.nspname::text, c.relname::text,
       has_schema_privilege(n.oid, 'USAGE'),
       has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), has_table_privilege(c.oid, 'UPDATE'),
       pg_has_role(c.relowner, 'USAGE'),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
       c.relreplident::text,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)";

const SLOT: &str = "
SELECT plugin::text, database::text, active, wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
FROM pg_replication_slots WHERE slot_name = $1";

pub async fn gather(client: &Client, wants: &Wants) -> Result<SourceFacts> {
    let row = client.query_one(SERVER, &[]).await.map_err(|e| query_error("reading the server settings", &e))?;
    let mut facts = SourceFacts {
        server_version: row.get(0),
        wal_level: row.get(1),
        max_replication_slots: row.get(2),
        replication_slots_used: row.get(3),
        max_wal_senders: row.get(4),
        wal_senders_used: row.get(5),
        user: row.get(6),
        superuser: row.get(7),
        replication: row.get(8),
        can_create_in_database: row.get(9),
        can_create_in_public: row.get(10),
        ..SourceFacts::default()
    };

    let mut names: Vec<String> = wants.tables.iter().map(|t| t.to_string()).collect();
    names.extend([SIGNAL_TABLE.to_string(), HEARTBEAT_TABLE.to_string()]);
    let rows = client.query(TABLES, &[&names]).await.map_err(|e| query_error("reading the captured tables", &e))?;
    facts.tables = rows
        .iter()
        .map(|r| {
            let name = TableName { schema: r.get(0), table: r.get(1) };
            let identity: String = r.get(8);
            let facts = TableFacts {
                schema_usage: r.get(2),
                select: r.get(3),
                insert: r.get(4),
                update: r.get(5),
                owned: r.get(6),
                primary_key: r.get(7),
                replica_identity: identity.chars().next().unwrap_or('d'),
                columns: r.get(9),
            };
            (name, facts)
        })
        .collect::<BTreeMap<_, _>>();

    let publication = client
        .query_opt(
            "SELECT puballtables, pubinsert, pubupdate, pubdelete, pg_has_role(pubowner, 'USAGE') FROM pg_publication WHERE pubname = $1",
            &[&wants.publication],
        )
        .await
        .map_err(|e| query_error("reading the publication", &e))?;
    if let Some(p) = publication {
        let tables = client
            .query(
                "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1",
                &[&wants.publication],
            )
            .await
            .map_err(|e| query_error("reading the publication's tables", &e))?
            .iter()
            .map(|r| TableName { schema: r.get(0), table: r.get(1) })
            .collect();
        facts.publication = Some(PublicationFacts {
            all_tables: p.get(0),
            inserts: p.get(1),
            updates: p.get(2),
            deletes: p.get(3),
            owned: p.get(4),
            tables,
        });
    }

    facts.slot = slot(client, &wants.slot).await?;
    Ok(facts)
}

/// The replication slot's state, lag and WAL retention; `None` when it does not exist.
pub async fn slot(client: &Client, name: &str) -> Result<Option<SlotFacts>> {
    let row = client.query_opt(SLOT, &[&name]).await.map_err(|e| query_error("reading the replication slot", &e))?;
    Ok(row.map(|r| SlotFacts {
        plugin: r.get(0),
        database: r.get::<_, Option<String>>(1).unwrap_or_default(),
        active: r.get(2),
        wal_status: r.get(3),
        lag_bytes: r.get(4),
    }))
}

/// Runs one fix's statements in a transaction: all of them or none.
pub async fn apply(client: &mut Client, fix: &SourceFix) -> Result<()> {
    let doing = format!("applying \"{}\"", fix.description);
    let tx = client.transaction().await.map_err(|e| query_error(&doing, &e))?;
    for sql in &fix.sql {
        tx.batch_execute(sql).await.map_err(|e| query_error(&doing, &e))?;
    }
    tx.commit().await.map_err(|e| query_error(&doing, &e))
}

/// The slot's state for liveness checks: (active, confirmed flush LSN as a number).
pub async fn slot_position(client: &Client, slot: &str) -> Result<Option<(bool, Option<i64>)>> {
    let row = client
        .query_opt(
            "SELECT active, (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| query_error("reading the replication slot", &e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Drops the slot (it must be inactive). `false` when there was none.
pub async fn drop_slot(client: &Client, slot: &str) -> Result<bool> {
    let dropped = client
        .query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .map_err(|e| query_error(&format!("dropping replication slot {slot}"), &e))?;
    Ok(!dropped.is_empty())
}
