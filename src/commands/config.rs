//! `olmisctl config`: the effective configuration and where each value came from.

use clap::Args;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::Origin;

#[derive(Debug, Args)]
pub struct ConfigArgs {}

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    /// `***` for a secret that is set; `null` when unset.
    value: Option<String>,
    origin: Option<Origin>,
    secret: bool,
}

#[derive(Serialize)]
struct ConfigReport {
    env_file: String,
    variables: Vec<Entry>,
}

impl Report for ConfigReport {
    fn human(&self, styles: &Styles) -> String {
        let width = self.variables.iter().map(|e| e.name.len()).max().unwrap_or(0);
        let mut out = format!("{} {}\n", styles.dim.apply_to("env file:"), self.env_file);
        for e in &self.variables {
            let value = e.value.as_deref().unwrap_or("(unset)");
            let origin = e.origin.map(|o| format!("  [{}]", o.label())).unwrap_or_default();
            out.push_str(&format!("{:width$}  {value}{}\n", e.name, styles.dim.apply_to(origin)));
        }
        out
    }
}

pub fn run(_args: ConfigArgs, ctx: &Ctx) -> Result<Exit> {
    let variables = ctx
        .settings
        .layers
        .iter()
        .map(|(var, raw)| Entry {
            name: var.name,
            value: raw.map(|r| if var.secret { "***".to_string() } else { r.value.clone() }),
            origin: raw.map(|r| r.origin),
            secret: var.secret,
        })
        .collect();
    let report = ConfigReport { env_file: ctx.settings.env_file.display().to_string(), variables };
    Ok(ctx.out.report(&report))
}
