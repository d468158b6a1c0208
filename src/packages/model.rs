//! The in-memory model of a package that the validator's rules run over: what each file declares,
//! with file and line, and the problems met while reading. Built by [`super::load`]; the rules in
//! [`super::rules`] never touch the disk.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use super::connect::Template;
use super::dbt::{ResourceKind, SourceTable};
use super::jinja::RefCall;
use super::manifest::{Manifest, PackageKind, Part};
use super::superset::Asset;

/// One violation of a rule: where it is, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub package: String,
    /// Relative to the package root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    /// What to do; the rule's general advice when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        package: &str,
        file: Option<PathBuf>,
        line: Option<usize>,
        message: String,
    ) -> Finding {
        Finding { rule, package: package.to_string(), file, line, message, hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }

    /// What to do: the finding's own hint, else its rule's general advice.
    pub fn fix(&self) -> Option<String> {
        self.hint.clone().or_else(|| super::rules::find_rule(self.rule).map(|r| r.hint.to_string()))
    }

    /// `file:line` (or just the file), for messages that point at another finding's source.
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{}:{l}", f.display()),
            (Some(f), None) => f.display().to_string(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PackageModel {
    pub root: PathBuf,
    /// The manifest's name, or the folder's name when the manifest is unusable.
    pub label: String,
    pub manifest: Option<Manifest>,
    /// Which of `connect/`, `dbt/`, `superset/` exist.
    pub folders: BTreeSet<Part>,
    pub connect: Vec<ConnectFile>,
    pub dbt: Option<DbtPackage>,
    pub assets: Vec<AssetFile>,
    /// Problems met while reading (unreadable files, YAML syntax, manifest fields).
    pub problems: Vec<Finding>,
}

impl PackageModel {
    pub fn kind(&self) -> Option<PackageKind> {
        self.manifest.as_ref().map(|m| m.kind)
    }

    pub fn is_extension(&self) -> bool {
        self.kind() == Some(PackageKind::Extension)
    }

    pub fn dbt_name(&self) -> Option<&str> {
        self.dbt.as_ref().and_then(|d| d.name.as_ref()).map(|(n, _)| n.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ConnectFile {
    pub file: PathBuf,
    pub template: Template,
}

#[derive(Debug, Clone, Default)]
pub struct DbtPackage {
    /// `dbt/dbt_project.yml`, relative to the package root.
    pub project_file: PathBuf,
    pub project_found: bool,
    pub name: Option<(String, usize)>,
    pub resources: Vec<Resource>,
    pub refs: Vec<(PathBuf, RefCall)>,
    pub sources: Vec<(PathBuf, SourceTable)>,
}

/// A model, seed or snapshot: a name in dbt's graph and a relation (table) in the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceKind,
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    /// `alias` from `config()` or properties YAML: (alias, file, line).
    pub alias: Option<(String, PathBuf, usize)>,
}

impl Resource {
    /// The table name dbt builds.
    pub fn relation(&self) -> &str {
        self.alias.as_ref().map_or(&self.name, |(a, _, _)| a)
    }

    pub fn describe(&self) -> String {
        format!("{} `{}` ({}:{})", self.kind.as_str(), self.name, self.file.display(), self.line)
    }
}

#[derive(Debug, Clone)]
pub struct AssetFile {
    pub file: PathBuf,
    pub asset: Asset,
}
