//! `olmisctl init`: create or complete `.env` with fresh secrets.

use std::path::Path;

use base64::Engine;
use clap::Args;
use rand::RngExt;
use serde::Serialize;

use crate::cli::Global;
use crate::context::locate;
use crate::envfile::{self, MergeOutcome};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Report, Styles};
use crate::settings::vars::Generate;

/// Used when the project directory has no `.env.example` of its own (an installed binary run
/// outside a checkout), so `init` always knows every variable.
const BUILTIN_TEMPLATE: &str = include_str!("../../.env.example");

#[derive(Debug, Args)]
pub struct InitArgs {}

#[derive(Serialize)]
pub struct InitReport {
    pub env_file: String,
    pub created: bool,
    #[serde(flatten)]
    pub outcome: MergeOutcome,
}

impl Report for InitReport {
    fn human(&self, styles: &Styles) -> String {
        if !self.created && !self.outcome.changed() {
            return format!("{} is complete; nothing to do\n", self.env_file);
        }
        let verb = if self.created { "Created" } else { "Updated" };
        let mut out = format!("{} {}\n", styles.ok.apply_to(verb), self.env_file);
        if !self.outcome.generated.is_empty() {
            out.push_str(&format!("  generated secrets: {}\n", self.outcome.generated.join(", ")));
        }
        if !self.outcome.added.is_empty() {
            out.push_str(&format!("  added variables: {}\n", self.outcome.added.join(", ")));
        }
        out.push_str("Next: `olmisctl setup`\n");
        out
    }
}

pub fn run(_args: InitArgs, global: &Global, out: &Output) -> Result<Exit> {
    let (project_dir, env_file) = locate(global)?;
    Ok(out.report(&write_env(&project_dir, &env_file)?))
}

/// Creates or completes `env_file` from the project's `.env.example` (or the built-in one).
pub fn write_env(project_dir: &Path, env_file: &Path) -> Result<InitReport> {
    let template_path = project_dir.join(".env.example");
    let template = if template_path.is_file() { read(&template_path)? } else { BUILTIN_TEMPLATE.to_string() };
    let existing = if env_file.exists() { Some(read(env_file)?) } else { None };
    let (text, outcome) = envfile::merge(&template, existing.as_deref(), new_secret);
    if existing.is_none() || outcome.changed() {
        write_private(env_file, &text)?;
    }
    Ok(InitReport { env_file: env_file.display().to_string(), created: existing.is_none(), outcome })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))
}

fn new_secret(how: Generate) -> String {
    let mut rng = rand::rng();
    match how {
        Generate::Fernet => {
            let key: [u8; 32] = rng.random();
            base64::engine::general_purpose::URL_SAFE.encode(key)
        }
        Generate::Alphanumeric(len) => {
            (&mut rng).sample_iter(rand::distr::Alphanumeric).take(len).map(char::from).collect()
        }
        Generate::No => String::new(),
    }
}

/// Writes through a temporary file and a rename, so an interrupted `init` never leaves a half
/// file, with mode 600 because the file holds secrets.
fn write_private(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("olmisctl-tmp");
    let fail = |e: std::io::Error| Error::file(path, format!("cannot write: {e}"));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fernet_keys_decode_to_32_bytes() {
        let key = new_secret(Generate::Fernet);
        let bytes = base64::engine::general_purpose::URL_SAFE.decode(&key).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(key.len(), 44);
    }

    #[test]
    fn alphanumeric_secrets_have_the_length_and_differ() {
        let a = new_secret(Generate::Alphanumeric(32));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, new_secret(Generate::Alphanumeric(32)));
    }
}
