//! `olmisctl completions <shell>`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<Exit> {
    clap_complete::generate(args.shell, &mut Cli::command(), "olmisctl", &mut std::io::stdout());
    Ok(Exit::Ok)
}
