//! What every command gets: the validated settings and the output channel.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::settings::{Settings, layers};

pub struct Ctx {
    pub settings: Settings,
    pub out: Output,
}

/// The project directory and env file the global flags point at.
pub fn locate(global: &Global) -> Result<(PathBuf, PathBuf)> {
    let cwd = std::env::current_dir().map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let project_dir = match &global.project_dir {
        Some(dir) => cwd.join(dir),
        None => cwd.clone(),
    };
    if !project_dir.is_dir() {
        return Err(
            Error::file(&project_dir, "is not a directory").with_hint("pass an existing directory to --project-dir")
        );
    }
    let env_file = match &global.env_file {
        Some(file) => cwd.join(file),
        None => project_dir.join(".env"),
    };
    if global.env_file.is_some() && !env_file.is_file() {
        return Err(
            Error::file(&env_file, "does not exist").with_hint("create it with `olmisctl init`, or drop --env-file")
        );
    }
    Ok((project_dir, env_file))
}

impl Ctx {
    pub fn load(global: &Global, out: &Output) -> Result<Ctx> {
        let (project_dir, env_file) = locate(global)?;
        let flags = layers::parse_flags(&global.set)?;
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let settings = Settings::load(&project_dir, &env_file, &flags, &env)?;
        out.set_secrets(settings.secrets());
        Ok(Ctx { settings, out: out.clone() })
    }
}
