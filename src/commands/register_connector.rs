//! `olmisctl register-connector`.

use clap::Args;

use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct RegisterConnectorArgs {
    /// Seconds to wait for the connector and its tasks to be RUNNING
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
}

pub async fn run(_args: RegisterConnectorArgs, _ctx: &Ctx) -> Result<Exit> {
    super::not_implemented("register-connector")
}
