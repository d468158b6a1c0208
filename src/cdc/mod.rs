//! Change data capture: the Debezium connector's config, the source preflight, registration,
//! snapshots through the signal table, and the watchdog's decisions.
//!
//! Domain logic (rendering, preflight evaluation, offset reading, backoff) is pure and unit-tested;
//! the I/O lives in `source_facts` (PostgreSQL), `register` and `snapshot` (Kafka Connect).

pub mod connector_config;
pub mod offsets;
pub mod preflight;
pub mod register;
pub mod snapshot;
pub mod source_facts;
pub mod template;
pub mod verify;
pub mod watchdog;

use crate::settings::TableName;

/// Debezium's source signal channel: `execute-snapshot` rows go here, and Debezium writes its
/// incremental-snapshot watermarks back into it.
pub const SIGNAL_TABLE: &str = "public.debezium_signal";
/// Written by the connector's heartbeat action query, so the slot advances on an idle source.
pub const HEARTBEAT_TABLE: &str = "public.debezium_heartbeat";

/// One of the constant `schema.table` names above as a [`TableName`].
pub fn table(name: &str) -> TableName {
    let (schema, table) = name.split_once('.').unwrap_or(("public", name));
    TableName { schema: schema.to_string(), table: table.to_string() }
}
