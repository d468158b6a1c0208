//! `olmisctl clickhouse-init`.

use clap::Args;
use serde::Serialize;

use crate::clickhouse::init;
use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
#[command(after_help = "\
Creates what is missing and leaves data alone; reports existing tables and views whose definition
differs from the configuration (exit 1). --migrate applies those changes: tables with rows are
altered in place, views and Kafka tables are recreated, consumer groups (and their offsets) kept.
Topics: RAW_KAFKA_TOPICS, else SOURCE_PG_TABLE_ALLOWLIST, else the core package's default tables.")]
pub struct ClickhouseInitArgs {
    /// Apply definition changes to existing tables (keeps rows and consumer offsets)
    #[arg(long)]
    pub migrate: bool,
    /// Print the SQL instead of running it (all CREATE statements; needs no connection)
    #[arg(long, conflicts_with = "migrate")]
    pub print_sql: bool,
}

#[derive(Serialize)]
struct Sql {
    sql: String,
}

pub async fn run(args: ClickhouseInitArgs, ctx: &Ctx) -> Result<Exit> {
    if args.print_sql {
        let sql = init::print_sql(ctx)?;
        if ctx.out.json {
            ctx.out.print_json(&Sql { sql });
        } else {
            print!("{sql}");
        }
        return Ok(Exit::Ok);
    }
    let report = init::run(ctx, args.migrate).await?;
    Ok(ctx.out.report(&report))
}
