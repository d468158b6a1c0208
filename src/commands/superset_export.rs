//! `olmisctl superset-export`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct SupersetExportArgs {
    /// Dashboard slug or UUID
    #[arg(long)]
    pub dashboard: String,
    /// Package directory to write the YAML into
    #[arg(long, value_name = "PACKAGE")]
    pub to: std::path::PathBuf,
}

pub async fn run(_args: SupersetExportArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("superset-export")
}
