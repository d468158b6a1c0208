//! Moving real volumes of data: the initial load and backfills (`bootstrap export` / `import`), the
//! recovery of an invalidated replication slot (`bootstrap recover-slot`), and `reconcile`, which
//! checks that ClickHouse's current state matches the source.
//!
//! Data flows PostgreSQL -> binary COPY -> Debezium-shaped JSON lines -> zstd chunk files of
//! sorted runs -> ClickHouse, streamed end to end; bootstrap rows land in `raw.events_<t>` beside the CDC events and
//! are ordered against them by the snapshot's watermark (see [`snapshot`]).

pub mod audit;
pub mod catalog;
pub mod chunk_reader;
pub mod chunk_writer;
pub mod copy_binary;
pub mod debezium;
pub mod export;
pub mod import;
pub mod line;
pub mod manifest;
pub mod pipeline;
pub mod progress;
pub mod raw_events;
pub mod reconcile;
pub mod recover;
pub mod snapshot;
pub mod sorted_runs;
