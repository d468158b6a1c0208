//! `olmisctl reconcile`.

use clap::Args;

use crate::bootstrap::{catalog, reconcile};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::postgres;
use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Tables to compare: schema.table,... [default: all captured tables]
    #[arg(long)]
    pub tables: Option<String>,
}

pub async fn run(args: ReconcileArgs, ctx: &Ctx) -> Result<Exit> {
    let pg = postgres::connect(&ctx.settings).await?;
    let ch = ClickHouse::new(&ctx.settings)?;
    let tables = match &args.tables {
        Some(list) => catalog::parse_tables(list)?,
        None => catalog::captured_tables(&ctx.settings)?,
    };
    let progress = ctx.out.progress(format!("comparing {} tables", tables.len()));
    let at = reconcile::Databases::from_settings(&ctx.settings);
    let mirrors = reconcile::declared_mirrors(&ctx.settings);
    let report = match reconcile::reconcile(&pg, &ch, &at, &tables, &mirrors).await {
        Ok(r) => {
            progress.finish(if r.equal { "equal" } else { "divergent" });
            r
        }
        Err(e) => {
            progress.fail("failed");
            return Err(e);
        }
    };
    Ok(ctx.out.report(&report))
}
