//! The runner project on disk (`<project dir>/dbt`), the analytics packages it depends on, and the
//! `packages.yml` that ties them together.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::packages::{self, Origin};
use crate::settings::Settings;

/// The runner project's folder inside the olmisctl project directory.
pub const RUNNER_DIR: &str = "dbt";

/// A configured package's dbt project, as `packages.yml` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// A dbt project folder on disk (`<package>/dbt`); `dbt deps` links it.
    Local(PathBuf),
    /// A package repository pinned to a ref; `dbt deps` clones it and uses its `dbt/` folder.
    Git { url: String, revision: Option<String> },
}

/// The runner project and where dbt writes its artifacts.
#[derive(Debug, Clone)]
pub struct Runner {
    pub dir: PathBuf,
    pub target_dir: PathBuf,
}

impl Runner {
    /// The runner project of the olmisctl project directory. `dbt_target_path` is dbt's own
    /// `DBT_TARGET_PATH` (absolute, or relative to the runner project), where dbt then writes
    /// run_results.json instead of `target/`.
    pub fn locate(project_dir: &Path, dbt_target_path: Option<&str>) -> Result<Runner> {
        let dir = project_dir.join(RUNNER_DIR);
        if !dir.join("dbt_project.yml").is_file() {
            return Err(Error::file(&dir, "is not a dbt project (no dbt_project.yml)").with_hint(
                "run olmisctl from its project directory (the one with compose/ and dbt/), or pass --project-dir",
            ));
        }
        let target_dir = match dbt_target_path.map(str::trim).filter(|p| !p.is_empty()) {
            Some(path) => dir.join(path),
            None => dir.join("target"),
        };
        Ok(Runner { dir, target_dir })
    }

    pub fn packages_yml(&self) -> PathBuf {
        self.dir.join("packages.yml")
    }

    /// Where `dbt deps` installs a package (a link, for a local one).
    pub fn installed(&self, project_name: &str) -> PathBuf {
        self.dir.join("dbt_packages").join(project_name)
    }
}

/// A configured package's dbt project: where dbt gets it, and its project name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtPackage {
    pub source: PackageSource,
    pub project_name: String,
}

/// The dbt projects of the configured packages (resolved like every command does, see
/// [`crate::packages::resolve`]): the core first, then the extensions in configured order.
/// Packages without a dbt project contribute no models and are left out; a core without one is an
/// error. A local package's project is linked from its folder; a Git package's is cloned by
/// `dbt deps` at the configured ref (so pin a tag or a commit: `packages fetch` and `dbt deps`
/// each resolve it).
pub fn configured_packages(settings: &Settings) -> Result<Vec<DbtPackage>> {
    let set = packages::resolve(settings)?;
    if set.core.dbt.is_none() {
        return Err(Error::file(set.core.root.join("dbt"), "does not exist: the core package has no dbt project")
            .with_hint("a core package keeps its dbt project (dbt_project.yml, models/) in dbt/"));
    }
    set.iter()
        .filter_map(|package| package.dbt.as_ref().map(|dbt| (package, dbt)))
        .map(|(package, dbt)| {
            let source = match &package.origin {
                Origin::Local => PackageSource::Local(dbt.dir.clone()),
                Origin::Git { url, reference } => git_source(url, reference.as_deref())?,
            };
            Ok(DbtPackage { source, project_name: dbt.name.clone() })
        })
        .collect()
}

/// A Git package. Credentials never go into packages.yml: GIT_TOKEN reaches git through dbt's
/// environment instead (see `invocation::environment`).
fn git_source(url: &str, revision: Option<&str>) -> Result<PackageSource> {
    let has_credentials = url::Url::parse(url).is_ok_and(|u| !u.username().is_empty() || u.password().is_some());
    if has_credentials {
        return Err(Error::Config {
            var: "ANALYTICS_CORE_GIT_URL / ANALYTICS_EXTENSION_GIT_URLS".to_string(),
            value: None,
            expected: "a Git URL without a user name or password in it".to_string(),
            hint: Some("remove the credentials from the URL and set GIT_TOKEN instead".to_string()),
        });
    }
    Ok(PackageSource::Git { url: url.to_string(), revision: revision.map(str::to_string) })
}

/// `packages.yml` for the runner project. Strings are JSON-quoted, which YAML reads as
/// double-quoted scalars, so any path or URL survives.
pub fn render_packages_yml(packages: &[DbtPackage]) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::from(
        "# Written by `olmisctl dbt-build` / `dbt-test` from the configured analytics packages\n\
         # (ANALYTICS_CORE_*, ANALYTICS_EXTENSION*). Edits here are overwritten.\n\
         packages:\n",
    );
    for package in packages {
        match &package.source {
            PackageSource::Local(path) => {
                out.push_str(&format!("  - local: {}\n", quote(&path.to_string_lossy())));
            }
            PackageSource::Git { url, revision } => {
                out.push_str(&format!("  - git: {}\n", quote(url)));
                if let Some(rev) = revision {
                    out.push_str(&format!("    revision: {}\n", quote(rev)));
                }
                out.push_str("    subdirectory: dbt\n");
            }
        }
    }
    out
}

/// Writes `content` unless the file already holds it; says whether it wrote.
pub fn write_if_changed(path: &Path, content: &str) -> Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|current| current == content) {
        return Ok(false);
    }
    std::fs::write(path, content).map_err(|e| {
        Error::file(path, format!("cannot write: {e}")).with_hint("the runner project's folder must be writable")
    })?;
    Ok(true)
}

/// The default selector: every configured package's own resources.
pub fn default_selector(packages: &[DbtPackage]) -> String {
    packages.iter().map(|p| format!("package:{}", p.project_name)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages() -> Vec<DbtPackage> {
        let package = |source, name: &str| DbtPackage { source, project_name: name.to_string() };
        vec![
            package(
                PackageSource::Local(PathBuf::from("/p/examples/olmis-analytics-core/dbt")),
                "olmis_analytics_core",
            ),
            package(
                PackageSource::Git { url: "https://git.example.org/mw.git".into(), revision: Some("v1.2.0".into()) },
                "olmis_analytics_malawi",
            ),
            package(PackageSource::Git { url: "file:///srv/x \"y\".git".into(), revision: None }, "other"),
        ]
    }

    #[test]
    fn packages_yml_names_local_and_git_packages() {
        let text = render_packages_yml(&packages());
        insta::assert_snapshot!(text, @r#"
        # Written by `olmisctl dbt-build` / `dbt-test` from the configured analytics packages
        # (ANALYTICS_CORE_*, ANALYTICS_EXTENSION*). Edits here are overwritten.
        packages:
          - local: "/p/examples/olmis-analytics-core/dbt"
          - git: "https://git.example.org/mw.git"
            revision: "v1.2.0"
            subdirectory: dbt
          - git: "file:///srv/x \"y\".git"
            subdirectory: dbt
        "#);
        // dbt reads YAML: the quoting must survive a YAML parser.
        let parsed: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(parsed["packages"][2]["git"], "file:///srv/x \"y\".git");
    }

    #[test]
    fn the_default_selector_is_every_configured_package() {
        assert_eq!(default_selector(&packages()[..2]), "package:olmis_analytics_core package:olmis_analytics_malawi");
    }

    #[test]
    fn git_urls_with_credentials_are_refused() {
        let err = git_source("https://me:tok@git.example.org/c.git", None).unwrap_err();
        assert!(!err.to_string().contains("tok"), "{err}");
        assert!(err.hint().unwrap().contains("GIT_TOKEN"));
        assert!(git_source("https://git.example.org/c.git", None).is_ok());
    }
}
