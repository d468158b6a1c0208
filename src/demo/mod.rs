//! The demo source: OpenLMIS-shaped schemas in the source database, filled with synthetic data that
//! is deterministic from a seed (`olmisctl demo seed`).
//!
//! [`generate`] builds the rows (pure), [`load`] creates the schemas from [`SCHEMA_SQL`] and copies
//! the rows in, and `commands::demo` decides what to do with a database that already has data.

pub mod calendar;
pub mod copy;
pub mod generate;
pub mod load;
mod names;
pub mod random;
pub mod rows;

/// The OpenLMIS tables, as a reviewable SQL file.
pub const SCHEMA_SQL: &str = include_str!("schema.sql");

/// The platform's own tables in the source database (signal, heartbeat, the seed marker).
pub const PLATFORM_SQL: &str = include_str!("platform.sql");

/// The schemas `demo seed` creates and `--reset` drops.
pub const SCHEMAS: [&str; 4] = ["referencedata", "requisition", "stockmanagement", "fulfillment"];

/// Bumped whenever a change to the generator changes any generated row, so a database seeded by an
/// older build is recognised as different data (see `generate` for the determinism guarantee).
pub const GENERATOR_VERSION: i32 = 1;
