//! olmisctl: set up, run, verify and repair the OpenLMIS analytics platform.
//!
//! The binary is a thin shell around [`run`]; everything lives in this library so integration
//! tests and future front ends use the same code.

pub mod airflow;
pub mod bootstrap;
pub mod cdc;
pub mod checks;
pub mod cli;
pub mod clickhouse;
pub mod clients;
pub mod commands;
pub mod compose;
pub mod context;
pub mod dbt;
pub mod demo;
pub mod envfile;
pub mod error;
pub mod output;
pub mod packages;
pub mod recover;
pub mod services;
pub mod settings;
pub mod setup;
pub mod status;
pub mod superset;
pub mod verify_all;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{Error, Exit};
use crate::output::Output;

pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    let out = Output::new(cli.global.json, cli.global.quiet, cli.global.no_color);
    init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&Error::usage(format!("cannot start the async runtime: {e}")));
            return Exit::Usage.into();
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = commands::dispatch(cli.command, &cli.global, &out) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    // Background tasks (log followers, HTTP bodies) must not keep the process alive after the result.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            out.error(&err);
            err.exit().into()
        }
    }
}

/// Logs go to stderr: human lines normally, JSON lines with `--json`. `OLMIS_LOG` takes a tracing
/// filter (e.g. `olmisctl=debug`) for deeper digging.
fn init_logging(global: &cli::Global) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("OLMIS_LOG").unwrap_or_else(|_| EnvFilter::new(format!("olmisctl={level}")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = if global.json { builder.json().try_init() } else { builder.without_time().try_init() };
}
