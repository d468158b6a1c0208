//! `olmisctl down`: stop and remove the stack's containers (or some services'), keeping volumes.

use clap::Args;
use serde::Serialize;

use crate::compose::Stack;
use crate::compose::args::Action;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Services to stop [default: all]
    pub services: Vec<String>,
}

#[derive(Serialize)]
struct DownReport {
    project: String,
    removed_containers: Vec<String>,
    volumes_kept: Vec<String>,
}

impl Report for DownReport {
    fn human(&self, styles: &Styles) -> String {
        let removed = match self.removed_containers.len() {
            0 => "No containers were running".to_string(),
            1 => "Stopped and removed 1 container".to_string(),
            n => format!("Stopped and removed {n} containers"),
        };
        let kept = match self.volumes_kept.len() {
            0 => String::new(),
            1 => format!(
                "\n{} volume {} is kept (`olmisctl reset` deletes it)",
                styles.dim.apply_to("data:"),
                self.volumes_kept[0]
            ),
            n => format!(
                "\n{} {n} volumes are kept: {} (`olmisctl reset` deletes them)",
                styles.dim.apply_to("data:"),
                self.volumes_kept.join(", ")
            ),
        };
        format!("{removed} in compose project `{}`.{kept}\n", self.project)
    }
}

pub async fn run(args: DownArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "down").await?;
    let compose = stack.compose(&ctx.settings).await?;
    let action = if args.services.is_empty() {
        Action::Down
    } else {
        compose.config().await?.check_services(&args.services)?;
        Action::Remove(&args.services)
    };
    let before: Vec<String> = stack
        .containers()
        .await?
        .into_iter()
        .filter(|c| args.services.is_empty() || args.services.contains(&c.service))
        .map(|c| c.name)
        .collect();
    let progress = ctx.out.progress(format!("{} down", compose.cli.display));
    match compose.run(&action, Some(&progress)).await {
        Ok(_) => progress.finish("done"),
        Err(e) => {
            progress.fail("failed");
            return Err(e);
        }
    }
    let volumes_kept = stack.engine.project_volumes(&stack.project.name).await?;
    Ok(ctx.out.report(&DownReport { project: stack.project.name.clone(), removed_containers: before, volumes_kept }))
}
