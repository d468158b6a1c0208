//! Analytics packages: where the configured core and extensions are, what their manifests say,
//! whether they are valid together, and fetching them from Git.
//!
//! Every command that needs packages calls [`resolve`]: local paths (`ANALYTICS_CORE_PATH`,
//! `ANALYTICS_EXTENSIONS_PATHS`) or the checkouts `packages fetch` made under `.packages/` when Git
//! URLs are configured. The validator ([`validate`]) reads packages into an in-memory model
//! ([`load`]) and runs pure rules over it ([`rules`]).

pub mod connect;
pub mod dbt;
pub mod fetch;
pub mod files;
pub mod jinja;
pub mod load;
pub mod manifest;
pub mod mirrors;
pub mod model;
pub mod report;
pub mod rules;
pub mod superset;
pub mod yaml;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::settings::{GitSource, Settings, TableName};
pub use manifest::{Manifest, PackageKind, Part};
pub use model::{Finding, PackageModel};
pub use report::ValidationReport;

/// Where `packages fetch` puts Git packages, inside the project directory.
pub const CHECKOUT_DIR: &str = ".packages";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Origin {
    Local,
    Git { url: String, reference: Option<String> },
}

/// Where a configured package lives, before anything is read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub role: PackageKind,
    pub root: PathBuf,
    pub origin: Origin,
}

impl Location {
    /// Fails when the package folder is missing, saying how to get it.
    pub fn ensure_present(&self) -> Result<()> {
        if self.root.is_dir() {
            return Ok(());
        }
        let hint = match &self.origin {
            Origin::Git { .. } => "run `olmisctl packages fetch` to clone it",
            Origin::Local if self.role == PackageKind::Core => "set ANALYTICS_CORE_PATH to the core package's folder",
            Origin::Local => "fix ANALYTICS_EXTENSIONS_PATHS: each entry is a package folder",
        };
        Err(Error::file(&self.root, format!("{} package folder does not exist", self.role.as_str())).with_hint(hint))
    }
}

/// The folders of the configured packages, each checked to exist.
pub fn configured_roots(settings: &Settings) -> Result<Vec<PathBuf>> {
    locate(settings)?.into_iter().map(|loc| loc.ensure_present().map(|_| loc.root)).collect()
}

#[derive(Debug, Clone)]
pub struct DbtProject {
    /// The folder holding `dbt_project.yml`.
    pub dir: PathBuf,
    /// The project's `name`, which other packages use in two-argument `ref()`s.
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub root: PathBuf,
    pub origin: Origin,
    pub manifest: Manifest,
    pub dbt: Option<DbtProject>,
    /// The folders present among connect/, dbt/, superset/.
    pub folders: BTreeSet<Part>,
}

impl Package {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn connect_template(&self) -> Option<PathBuf> {
        Some(self.root.join(connect::TEMPLATE_FILE)).filter(|p| p.is_file())
    }

    pub fn superset_assets(&self) -> Option<PathBuf> {
        Some(self.root.join(superset::ASSETS_DIR)).filter(|p| p.is_dir())
    }
}

/// The configured packages, read and checked enough to be used.
#[derive(Debug, Clone)]
pub struct PackageSet {
    pub core: Package,
    pub extensions: Vec<Package>,
}

impl PackageSet {
    /// The core first, then the extensions in configured order.
    pub fn iter(&self) -> impl Iterator<Item = &Package> {
        std::iter::once(&self.core).chain(&self.extensions)
    }

    /// The tables the core captures by default (its template's `${SOURCE_PG_TABLE_ALLOWLIST:-...}`),
    /// used when `SOURCE_PG_TABLE_ALLOWLIST` is empty.
    pub fn core_tables(&self) -> Result<Vec<TableName>> {
        let path = self.core.connect_template().ok_or_else(|| {
            Error::file(
                self.core.root.join(connect::TEMPLATE_FILE),
                "does not exist: the core package lists its tables there",
            )
        })?;
        let text = files::read_text(&path).map_err(|message| Error::file(&path, message))?;
        connect::parse_template(&text).default_tables().map_err(|(line, message)| {
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            Error::file(&path, format!("{at}{message}"))
                .with_hint("run `olmisctl packages validate` for details, or set SOURCE_PG_TABLE_ALLOWLIST")
        })
    }
}

/// The folder name of a Git extension under `.packages/extensions/`: the repository's name.
pub fn checkout_name(url: &str) -> Option<String> {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then(|| name.to_string())
}

pub fn core_checkout(settings: &Settings) -> PathBuf {
    settings.project_dir.join(CHECKOUT_DIR).join("core")
}

pub fn extension_checkout(settings: &Settings, git: &GitSource) -> Result<PathBuf> {
    let name = checkout_name(&git.url).ok_or_else(|| Error::Config {
        var: "ANALYTICS_EXTENSION_GIT_URLS".into(),
        value: Some(fetch::display_url(&git.url)),
        expected: "Git URLs ending in a repository name (e.g. https://host/org/olmis-analytics-malawi.git)".into(),
        hint: None,
    })?;
    Ok(settings.project_dir.join(CHECKOUT_DIR).join("extensions").join(name))
}

/// Where every configured package is: the core first, then local extensions, then Git ones.
pub fn locate(settings: &Settings) -> Result<Vec<Location>> {
    let p = &settings.packages;
    let mut out = Vec::new();
    out.push(match &p.core_git {
        Some(git) => Location {
            role: PackageKind::Core,
            root: core_checkout(settings),
            origin: Origin::Git { url: git.url.clone(), reference: git.reference.clone() },
        },
        None => Location { role: PackageKind::Core, root: p.core_path.clone(), origin: Origin::Local },
    });
    for path in &p.extension_paths {
        out.push(Location { role: PackageKind::Extension, root: path.clone(), origin: Origin::Local });
    }
    let mut names = BTreeSet::new();
    for git in &p.extension_git {
        let root = extension_checkout(settings, git)?;
        if !names.insert(root.clone()) {
            return Err(Error::Config {
                var: "ANALYTICS_EXTENSION_GIT_URLS".into(),
                value: Some(fetch::display_url(&git.url)),
                expected: "repositories with distinct names (each is checked out under .packages/extensions/<name>)"
                    .into(),
                hint: None,
            });
        }
        out.push(Location {
            role: PackageKind::Extension,
            root,
            origin: Origin::Git { url: git.url.clone(), reference: git.reference.clone() },
        });
    }
    Ok(out)
}

/// The configured packages, each with its manifest and dbt project. Fails with the file and line
/// of the first unusable manifest; `packages validate` gives the complete picture.
pub fn resolve(settings: &Settings) -> Result<PackageSet> {
    let mut packages = locate(settings)?.into_iter().map(|loc| open(&loc));
    let core = packages.next().ok_or_else(|| Error::usage("no core package is configured"))??;
    let extensions = packages.collect::<Result<Vec<_>>>()?;
    Ok(PackageSet { core, extensions })
}

/// Reads one located package strictly: it must exist, have a valid manifest of the expected type,
/// and a named dbt project if it has a dbt/ folder.
pub fn open(loc: &Location) -> Result<Package> {
    loc.ensure_present()?;
    let manifest_path = loc.root.join(manifest::FILE_NAME);
    let text = files::read_text(&manifest_path).map_err(|message| {
        Error::file(&manifest_path, message)
            .with_hint("every package has a manifest.yaml at its root (see docs/usage-guide.md)")
    })?;
    let (manifest, problems) = manifest::parse(&text);
    let validate_hint = format!("run `olmisctl packages validate {}` for every problem", loc.root.display());
    if let Some(p) = problems.iter().find(|p| p.rule != "manifest.unknown-field") {
        let line = p.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        return Err(Error::file(&manifest_path, format!("{line}{}", p.message)).with_hint(validate_hint));
    }
    let manifest = manifest
        .ok_or_else(|| Error::file(&manifest_path, "is not a usable manifest").with_hint(validate_hint.clone()))?;
    if manifest.kind != loc.role {
        return Err(Error::file(&manifest_path, format!("has `type: {}` but is configured as the {} package", manifest.kind.as_str(), loc.role.as_str()))
            .with_hint("configure the core in ANALYTICS_CORE_PATH / ANALYTICS_CORE_GIT_URL and extensions in the EXTENSION variables"));
    }
    let folders: BTreeSet<Part> = Part::ALL.into_iter().filter(|p| loc.root.join(p.as_str()).is_dir()).collect();
    let dbt = if folders.contains(&Part::Dbt) {
        let dir = loc.root.join("dbt");
        let project_path = dir.join(dbt::PROJECT_FILE);
        let text = files::read_text(&project_path)
            .map_err(|m| Error::file(&project_path, m).with_hint(validate_hint.clone()))?;
        let doc =
            yaml::parse(&text).map_err(|e| Error::file(&project_path, format!("line {}: {}", e.line, e.message)))?;
        let name = dbt::parse_project(doc.as_ref()).name.map(|(n, _)| n).filter(|n| dbt::is_project_name(n));
        let name = name.ok_or_else(|| Error::file(&project_path, "has no valid `name`").with_hint(validate_hint))?;
        Some(DbtProject { dir, name })
    } else {
        None
    };
    Ok(Package { root: loc.root.clone(), origin: loc.origin.clone(), manifest, dbt, folders })
}

/// The running olmisctl's version, which manifests' `platform_version` must accept.
pub fn platform_version() -> semver::Version {
    // CARGO_PKG_VERSION is a valid semver by Cargo's own rules.
    semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
}

/// Validates the packages in `roots` as one set (the core first, whatever the order given).
pub fn validate(roots: &[PathBuf]) -> ValidationReport {
    let mut set: Vec<PackageModel> = roots.iter().map(|r| load::load(r)).collect();
    set.sort_by_key(|p| p.kind() != Some(PackageKind::Core));
    validate_models(&set)
}

pub fn validate_models(set: &[PackageModel]) -> ValidationReport {
    ValidationReport::new(set, rules::validate(set, &platform_version()))
}

/// The findings that stop a Superset import of `set` (see [`rules::blocks_superset_import`]).
pub fn validate_superset(set: &[PackageModel]) -> Vec<Finding> {
    let mut findings: Vec<Finding> =
        rules::validate(set, &platform_version()).into_iter().filter(rules::blocks_superset_import).collect();
    findings.sort_by(|a, b| (&a.package, &a.file, a.line, a.rule).cmp(&(&b.package, &b.file, b.line, b.rule)));
    findings.dedup();
    findings
}

/// Is there a package with a manifest of `type: core` at `root`?
pub fn is_core(root: &Path) -> bool {
    files::read_text(&root.join(manifest::FILE_NAME))
        .ok()
        .and_then(|text| manifest::parse(&text).0)
        .is_some_and(|m| m.kind == PackageKind::Core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_names_come_from_the_url() {
        assert_eq!(
            checkout_name("https://git.example.org/moh/olmis-analytics-malawi.git").as_deref(),
            Some("olmis-analytics-malawi")
        );
        assert_eq!(checkout_name("git@host:org/repo").as_deref(), Some("repo"));
        assert_eq!(checkout_name("file:///tmp/x/ext/").as_deref(), Some("ext"));
        assert_eq!(checkout_name("https://host/.."), None);
    }
}
