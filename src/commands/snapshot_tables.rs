//! `olmisctl snapshot-tables`: an incremental snapshot of some captured tables through the
//! Debezium signal table, followed until it finishes.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::cdc::{connector_config, register, snapshot, source_facts};
use crate::clients::connect::Connect;
use crate::clients::postgres;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::{TableName, split_list};

#[derive(Debug, Args)]
pub struct SnapshotTablesArgs {
    /// Tables to snapshot: schema.table,schema.table
    #[arg(value_name = "TABLES")]
    pub tables: String,
    /// Seconds to wait for the snapshot to finish
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
}

#[derive(Debug, Serialize)]
struct SnapshotReport {
    connector: String,
    signal: snapshot::Signal,
    seconds: f64,
}

impl Report for SnapshotReport {
    fn human(&self, styles: &Styles) -> String {
        format!(
            "{} snapshot of {} finished in {:.1}s (signal {})\n",
            styles.ok.apply_to("✓"),
            self.signal.tables.join(", "),
            self.seconds,
            self.signal.id
        )
    }
}

pub async fn run(args: SnapshotTablesArgs, ctx: &Ctx) -> Result<Exit> {
    let tables = parse_tables(&args.tables)?;
    let config = connector_config::load(&ctx.settings)?;
    let allowlist = config.tables();
    let outside: Vec<String> = tables.iter().filter(|t| !allowlist.contains(t)).map(|t| t.to_string()).collect();
    if !outside.is_empty() {
        return Err(Error::usage(format!("not in the allowlist: {}", outside.join(", ")))
            .with_hint("add them to SOURCE_PG_TABLE_ALLOWLIST, then run `olmisctl connector refresh`"));
    }
    let client = postgres::connect(&ctx.settings).await?;
    let mut wants = register::wants(&ctx.settings, &config);
    wants.tables = tables.clone();
    let facts = source_facts::gather(&client, &wants).await?;
    let unpublished: Vec<String> = match &facts.publication {
        Some(p) if p.all_tables => Vec::new(),
        Some(p) => tables.iter().filter(|t| !p.tables.contains(*t)).map(|t| t.to_string()).collect(),
        None => tables.iter().map(|t| t.to_string()).collect(),
    };
    if !unpublished.is_empty() {
        return Err(Error::usage(format!(
            "not in publication {}: {}",
            ctx.settings.source.publication,
            unpublished.join(", ")
        ))
        .with_hint("`olmisctl connector refresh` adds allowlisted tables to the publication and snapshots them"));
    }
    let connect = Connect::new(&ctx.settings)?;
    let name = ctx.settings.cdc.connector_name.clone();
    let names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let progress = ctx.out.progress(format!("Snapshotting {}", names.join(", ")));
    let timeout = Duration::from_secs(args.timeout);
    match snapshot::run_incremental(&connect, &client, &name, &tables, timeout, |p| {
        progress.update(snapshot::describe(p))
    })
    .await
    {
        Ok(signal) => {
            let seconds = progress.elapsed().as_secs_f64();
            progress.finish("finished");
            Ok(ctx.out.report(&SnapshotReport { connector: name, signal, seconds }))
        }
        Err(e) => {
            progress.fail("not finished");
            Err(e)
        }
    }
}

fn parse_tables(arg: &str) -> Result<Vec<TableName>> {
    let entries = split_list(arg);
    if entries.is_empty() {
        return Err(
            Error::usage("no table given").with_hint("example: olmisctl snapshot-tables referencedata.facilities")
        );
    }
    entries
        .iter()
        .map(|e| {
            TableName::parse(e).ok_or_else(|| {
                Error::usage(format!("{e:?} is not a schema.table name")).with_hint(
                    "lowercase schema.table names, comma-separated: referencedata.facilities,referencedata.programs",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_arguments_are_validated() {
        assert_eq!(parse_tables("a.b, c.d").unwrap().len(), 2);
        assert!(parse_tables("facilities").unwrap_err().to_string().contains("\"facilities\" is not a schema.table"));
        assert!(parse_tables(" , ").is_err());
    }
}
