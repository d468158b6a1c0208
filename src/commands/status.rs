//! `olmisctl status`: one screen, one JSON document (`--json`), the Prometheus text format
//! (`--format prometheus`), or a `/metrics` endpoint (`--serve ADDR`) with fresh figures per scrape.

use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;

use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::status::screen::StatusReport;
use crate::status::{gather, prometheus, serve};

#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 everything ok (warnings included), 1 something is failing (connector, task, slot,
ingestion, refresh run, dbt tests), 3 a service is down or unreachable.
--serve runs until stopped; each scrape of /metrics reads the platform again.")]
pub struct StatusArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Serve the figures as Prometheus metrics on ADDR (e.g. 127.0.0.1:9464) at /metrics
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Human,
    Prometheus,
}

pub async fn run(args: StatusArgs, ctx: &Ctx) -> Result<Exit> {
    if let Some(addr) = args.serve {
        if ctx.out.json || args.format != StatusFormat::Human {
            return Err(Error::usage("--serve always serves the Prometheus format; drop --json and --format"));
        }
        let settings = Arc::new(ctx.settings.clone());
        let out = ctx.out.clone();
        ctx.out.info(format!("Serving the platform's status on http://{addr}/metrics (Ctrl-C stops)"));
        serve::serve(&addr, move || {
            let (settings, out) = (Arc::clone(&settings), out.clone());
            async move { out.redact(&prometheus::render(&gather::gather(&settings).await)) }
        })
        .await?;
        return Ok(Exit::Ok);
    }
    let report = read(ctx).await;
    match args.format {
        StatusFormat::Prometheus if ctx.out.json => {
            Err(Error::usage("--format prometheus and --json are two different outputs: pick one"))
        }
        StatusFormat::Prometheus => {
            print!("{}", ctx.out.redact(&prometheus::render(&report.platform)));
            Ok(crate::status::screen::exit_for(&report.platform))
        }
        StatusFormat::Human => Ok(ctx.out.report(&report)),
    }
}

async fn read(ctx: &Ctx) -> StatusReport {
    let progress = ctx.out.progress("Reading the platform's state");
    let platform = gather::gather(&ctx.settings).await;
    progress.finish(format!("{:?}", platform.level()).to_lowercase());
    StatusReport::new(platform, now())
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
