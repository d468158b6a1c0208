//! `olmisctl demo seed`: create the OpenLMIS-shaped schemas in the source database and fill them
//! with the deterministic demo data, once. A second run with the same seed and scale finds the
//! marker and does nothing; a different seed or scale needs `--reset`; schemas that `demo seed` did
//! not create are never touched.

use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::clients::postgres::{self, query_error};
use crate::context::Ctx;
use crate::demo::generate::{self, Scale};
use crate::demo::load::{self, Marker, State};
use crate::demo::{GENERATOR_VERSION, SCHEMAS};
use crate::error::{Error, Exit, Result};
use crate::output::thousands;
use crate::output::{Report, Styles};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub action: DemoAction,
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Create the OpenLMIS-shaped schemas in the source database and fill them with demo data
    #[command(after_help = "Creates the schemas referencedata, requisition, stockmanagement and fulfillment in the \
        source database (SOURCE_PG_*) with data shaped like the OpenLMIS demo: Malawi's geography, 2,700 \
        facilities, 10,000 products, requisitions, orders and stock cards. The same --seed and --scale always \
        give identical data. Running it again does nothing; a different seed or scale needs --reset. Schemas \
        this command did not create are never touched.")]
    Seed {
        /// Multiply the demo's volume (facilities, products, requisitions, stock cards), 1-100
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=Scale::MAX as i64))]
        scale: u32,
        /// Random seed: the same seed gives the same data
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Drop the demo schemas first and start over
        #[arg(long)]
        reset: bool,
    },
}

/// The seed `demo seed` (and `setup` for the demo source) uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;

pub async fn run(args: DemoArgs, ctx: &Ctx) -> Result<Exit> {
    match args.action {
        DemoAction::Seed { scale, seed, reset } => {
            let scale = Scale::new(scale)
                .ok_or_else(|| Error::usage(format!("--scale {scale}: expected 1 to {}", Scale::MAX)))?;
            let report = seed_database(ctx, seed, scale, reset).await?;
            Ok(ctx.out.report(&report))
        }
    }
}

#[derive(Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Seeded,
    AlreadySeeded,
}

#[derive(Serialize)]
struct TableLoad {
    table: &'static str,
    rows: usize,
    seconds: f64,
}

#[derive(Serialize)]
pub(crate) struct SeedReport {
    pub(crate) outcome: Outcome,
    database: String,
    seed: u64,
    scale: u32,
    generator_version: i32,
    rows: usize,
    /// Set when the data was already there.
    #[serde(skip_serializing_if = "Option::is_none")]
    seeded_at: Option<String>,
    reset: bool,
    generate_seconds: f64,
    load_seconds: f64,
    tables: Vec<TableLoad>,
}

impl Report for SeedReport {
    fn human(&self, styles: &Styles) -> String {
        match self.outcome {
            Outcome::AlreadySeeded => format!(
                "{} already holds the demo data (seed {}, scale {}, {} rows, seeded {}): nothing to do\n",
                self.database,
                self.seed,
                self.scale,
                thousands(self.rows as u64),
                self.seeded_at.as_deref().unwrap_or("earlier"),
            ),
            Outcome::Seeded => format!(
                "{} {} with the demo data (seed {}, scale {}{}): {} rows in {} tables, generated in {:.1}s, \
                 loaded in {:.1}s ({} rows/s)\n",
                styles.ok.apply_to("Seeded"),
                self.database,
                self.seed,
                self.scale,
                if self.reset { ", after dropping the previous demo data" } else { "" },
                thousands(self.rows as u64),
                self.tables.len(),
                self.generate_seconds,
                self.load_seconds,
                thousands(rate(self.rows, self.load_seconds) as u64),
            ),
        }
    }
}

pub(crate) async fn seed_database(ctx: &Ctx, seed: u64, scale: Scale, reset: bool) -> Result<SeedReport> {
    let source = &ctx.settings.source;
    let database = format!("{} on {}:{}", source.db, source.host, source.port);
    let mut client = postgres::connect(&ctx.settings).await?;
    let tx = client.transaction().await.map_err(|e| query_error("starting a transaction", &e))?;
    let mut report = SeedReport {
        outcome: Outcome::Seeded,
        database: database.clone(),
        seed,
        scale: scale.factor(),
        generator_version: GENERATOR_VERSION,
        rows: 0,
        seeded_at: None,
        reset: false,
        generate_seconds: 0.0,
        load_seconds: 0.0,
        tables: Vec::new(),
    };
    match load::inspect(&tx).await? {
        State::Foreign(schemas) => return Err(foreign(&source.db, &schemas)),
        State::Seeded(marker) if !reset => {
            if same_data(&marker, seed, scale) {
                report.outcome = Outcome::AlreadySeeded;
                report.rows = marker.row_count.max(0) as usize;
                report.seeded_at = Some(marker.seeded_at);
                return Ok(report);
            }
            return Err(different(&source.db, &marker, seed, scale));
        }
        State::Seeded(marker) => {
            let progress = ctx.out.progress(format!("dropping the demo data of seed {}", marker.seed));
            load::drop_demo(&tx).await?;
            progress.finish(format!("dropped {}", SCHEMAS.join(", ")));
            report.reset = true;
        }
        State::Empty => {}
    }

    let progress = ctx.out.progress(format!("generating the demo data (seed {seed}, scale {})", scale.factor()));
    let started = Instant::now();
    let data = tokio::task::spawn_blocking(move || generate::generate(seed, scale))
        .await
        .map_err(|e| Error::Failed(format!("generating the demo data failed: {e}")))?;
    report.generate_seconds = started.elapsed().as_secs_f64();
    progress.finish(format!("{} rows", thousands(data.row_count() as u64)));

    let started = Instant::now();
    load::create_tables(&tx).await?;
    for table in data.tables() {
        let progress = ctx.out.progress(table.name());
        let total = table.len();
        let elapsed = load::copy_table(&tx, table, |rows| {
            progress.update(format!("{} of {} rows", thousands(rows as u64), thousands(total as u64)));
        })
        .await?;
        let seconds = elapsed.as_secs_f64();
        progress.finish(format!(
            "{} rows ({} rows/s)",
            thousands(total as u64),
            thousands(rate(total, seconds) as u64)
        ));
        report.tables.push(TableLoad { table: table.name(), rows: total, seconds });
    }
    let progress = ctx.out.progress("adding foreign keys and indexes");
    load::add_constraints(&tx).await?;
    progress.finish("done");
    report.rows = data.row_count();
    load::write_marker(&tx, seed, scale.factor(), report.rows).await?;
    let progress = ctx.out.progress("committing");
    tx.commit().await.map_err(|e| query_error("committing the demo data", &e))?;
    progress.finish("done");
    report.load_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn same_data(marker: &Marker, seed: u64, scale: Scale) -> bool {
    marker.seed == seed && marker.scale == scale.factor() && marker.generator_version == GENERATOR_VERSION
}

fn foreign(db: &str, schemas: &[String]) -> Error {
    Error::usage(format!(
        "database {db} already has schema {} not created by `olmisctl demo seed`; refusing to touch what may be \
         a real OpenLMIS database",
        schemas.join(", ")
    ))
    .with_hint("point SOURCE_PG_DB at an empty database, or drop those schemas yourself if they are disposable")
}

fn different(db: &str, marker: &Marker, seed: u64, scale: Scale) -> Error {
    // The generator version matters only when it is what differs (data from an older olmisctl).
    let version = |v: i32| {
        if marker.generator_version == GENERATOR_VERSION { String::new() } else { format!(", generator version {v}") }
    };
    Error::usage(format!(
        "database {db} already holds demo data of seed {}, scale {}{} (olmisctl {}); asked for seed {seed}, scale {}{}",
        marker.seed,
        marker.scale,
        version(marker.generator_version),
        marker.olmisctl_version,
        scale.factor(),
        version(GENERATOR_VERSION),
    ))
    .with_hint(format!(
        "add --reset to drop the demo schemas and seed again, or keep the data with --seed {} --scale {}",
        marker.seed, marker.scale
    ))
}

fn rate(rows: usize, seconds: f64) -> usize {
    if seconds > 0.0 { (rows as f64 / seconds) as usize } else { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_generator_version_is_different_data() {
        let marker = Marker {
            seed: 42,
            scale: 1,
            generator_version: GENERATOR_VERSION,
            olmisctl_version: "0.1.0".into(),
            row_count: 1,
            seeded_at: String::new(),
        };
        let one = Scale::new(1).unwrap_or_else(|| unreachable!());
        assert!(same_data(&marker, 42, one));
        assert!(!same_data(&marker, 43, one));
        assert!(!same_data(&Marker { generator_version: GENERATOR_VERSION - 1, ..marker.clone() }, 42, one));
        let message = different("open_lmis", &marker, 7, one).to_string();
        assert!(message.contains("seed 42, scale 1") && message.contains("asked for seed 7"), "{message}");
    }
}
