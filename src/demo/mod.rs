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

/// The OpenLMIS tables, as a reviewable SQL file: tables first, then (after the `@after-load`
/// marker) the foreign keys and indexes, which are added once the rows are in.
pub const SCHEMA_SQL: &str = include_str!("schema.sql");

/// `SCHEMA_SQL` split at its `@after-load` marker: (before the rows, after the rows).
pub fn schema_phases() -> (&'static str, &'static str) {
    SCHEMA_SQL.split_once("-- @after-load").unwrap_or((SCHEMA_SQL, ""))
}

/// The platform's own tables in the source database (signal, heartbeat, the seed marker).
pub const PLATFORM_SQL: &str = include_str!("platform.sql");

/// The schemas `demo seed` creates and `--reset` drops.
pub const SCHEMAS: [&str; 4] = ["referencedata", "requisition", "stockmanagement", "fulfillment"];

/// Bumped whenever a change to the generator changes any generated row, so a database seeded by an
/// older build is recognised as different data (see `generate` for the determinism guarantee).
pub const GENERATOR_VERSION: i32 = 1;

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_has_both_phases() {
        let (tables, constraints) = super::schema_phases();
        assert!(tables.contains("CREATE TABLE") && !tables.contains("FOREIGN KEY"));
        assert!(constraints.contains("ADD FOREIGN KEY") && !constraints.contains("CREATE TABLE"));
    }
}
