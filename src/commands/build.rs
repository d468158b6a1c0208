//! `olmisctl build`: build the stack's images through compose.

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use crate::compose::Stack;
use crate::compose::args::Action;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Services whose images to build [default: all with a build section]
    pub services: Vec<String>,
}

#[derive(Serialize)]
struct BuildReport {
    project: String,
    /// Empty: every service with a build section.
    services: Vec<String>,
    seconds: f64,
}

impl Report for BuildReport {
    fn human(&self, _styles: &Styles) -> String {
        let what = if self.services.is_empty() {
            "all images".to_string()
        } else {
            format!("the images of {}", self.services.join(", "))
        };
        format!("Built {what} of compose project `{}` in {:.1}s.\n", self.project, self.seconds)
    }
}

pub async fn run(args: BuildArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "build").await?;
    let compose = stack.compose(&ctx.settings).await?;
    if !args.services.is_empty() {
        compose.config().await?.check_services(&args.services)?;
    }
    ctx.out.info(format!("Building with `{} build` (its output follows)", compose.cli.display));
    let started = Instant::now();
    compose.run_visible(&Action::Build(&args.services)).await?;
    let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    Ok(ctx.out.report(&BuildReport { project: stack.project.name.clone(), services: args.services, seconds }))
}
