//! `olmisctl status`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Serve the figures as Prometheus metrics on ADDR (e.g. 127.0.0.1:9464) at /metrics
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
}

pub async fn run(_args: StatusArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("status")
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusFormat {
    Human,
    Prometheus,
}
