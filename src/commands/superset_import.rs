//! `olmisctl superset-import`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct SupersetImportArgs {
    /// One unzipped asset directory to import [default: platform, core, then extensions]
    pub path: Option<std::path::PathBuf>,
}

pub async fn run(_args: SupersetImportArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("superset-import")
}
