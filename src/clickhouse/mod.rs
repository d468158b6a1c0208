//! The ClickHouse raw layer: the immutable event log every CDC event lands in.
//!
//! Per topic: `raw.kafka_<t>` (Kafka engine) -> `raw.parsed_<t>_mv` -> `raw.parsed_<t>` (Null:
//! each message parsed and classified once) -> `raw.events_<t>_mv` -> `raw.events_<t>` for good
//! events, and `raw.errors_<t>_mv` -> `raw.errors` (shared) for the rest. The SQL lives in
//! `clickhouse/templates/`; the topics are what CDC captures (see [`topics`]).
//!
//! Pure parts (topics, templates, ddl, sqltext, drift, plan, lag, the verdicts) are unit-tested;
//! `init` and `observe` do the talking to the server.

pub mod ddl;
pub mod display;
pub mod drift;
pub mod freshness;
pub mod ingestion;
pub mod init;
pub mod lag;
pub mod observe;
pub mod plan;
pub mod sqltext;
pub mod template;
pub mod topics;
