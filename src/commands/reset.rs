//! `olmisctl reset`: stop the stack and delete its volumes, after confirmation.

use std::io::IsTerminal;

use clap::Args;
use serde::Serialize;

use crate::compose::Stack;
use crate::compose::args::Action;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Report, Styles};

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

#[derive(Serialize)]
struct ResetReport {
    project: String,
    removed_volumes: Vec<String>,
}

impl Report for ResetReport {
    fn human(&self, _styles: &Styles) -> String {
        if self.removed_volumes.is_empty() {
            format!("Compose project `{}` is stopped; it had no volumes.\n", self.project)
        } else {
            format!(
                "Compose project `{}` is stopped and its volumes are deleted: {}.\nStart afresh with `olmisctl up` (or `olmisctl setup`).\n",
                self.project,
                self.removed_volumes.join(", ")
            )
        }
    }
}

pub async fn run(args: ResetArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "reset").await?;
    let compose = stack.compose(&ctx.settings).await?;
    let project = &stack.project.name;
    let volumes = stack.engine.project_volumes(project).await?;
    if !args.yes {
        confirm(&ctx.out, project, &volumes)?;
    }
    let progress = ctx.out.progress(format!("{} down --volumes", compose.cli.display));
    match compose.run(&Action::DownWithVolumes, Some(&progress)).await {
        Ok(_) => progress.finish("done"),
        Err(e) => {
            progress.fail("failed");
            return Err(e);
        }
    }
    let left = stack.engine.project_volumes(project).await?;
    if !left.is_empty() {
        return Err(Error::service(
            "docker",
            format!("volumes of `{project}` still exist after reset: {}", left.join(", ")),
        )
        .with_hint("another container may use them: `docker ps -a --filter volume=NAME` shows which"));
    }
    Ok(ctx.out.report(&ResetReport { project: project.clone(), removed_volumes: volumes }))
}

/// Asks on the terminal. Without one (a script, CI, `--json`) there is nobody to ask: that is an
/// error saying to pass `--yes`, not a silent "no".
fn confirm(out: &Output, project: &str, volumes: &[String]) -> Result<()> {
    let no_terminal = if !std::io::stdin().is_terminal() {
        Some("stdin is not a terminal")
    } else if !std::io::stderr().is_terminal() {
        Some("stderr is not a terminal")
    } else if out.json {
        Some("--json output is for scripts")
    } else {
        None
    };
    if let Some(why) = no_terminal {
        return Err(Error::usage(format!(
            "`olmisctl reset` deletes every volume of compose project `{project}` and asks first, but {why}"
        ))
        .with_hint("pass --yes to confirm from a script"));
    }
    let what = if volumes.is_empty() { "(no volumes yet)".to_string() } else { volumes.join(", ") };
    let question = format!(
        "This stops compose project `{project}` and deletes its volumes: {what}.\nAll platform data in them is lost. Delete?"
    );
    if out.confirm(&question) { Ok(()) } else { Err(Error::Failed("reset cancelled: nothing was deleted".into())) }
}
