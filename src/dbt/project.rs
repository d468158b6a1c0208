//! The runner project on disk (`<project dir>/dbt`), the analytics packages it depends on, and the
//! `packages.yml` that ties them together.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
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

impl PackageSource {
    /// How the summary and errors name the package.
    pub fn label(&self) -> String {
        match self {
            PackageSource::Local(path) => path.display().to_string(),
            PackageSource::Git { url, revision: Some(rev) } => format!("{url}@{rev}"),
            PackageSource::Git { url, revision: None } => url.clone(),
        }
    }
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

    pub fn package_lock(&self) -> PathBuf {
        self.dir.join("package-lock.yml")
    }
}

/// The dbt projects of the configured packages: the core first, then the extensions in configured
/// order (Git ones, then local ones). Local packages without a `dbt/` folder contribute no models
/// and are skipped; a local core without one is an error.
///
/// This reads the package settings directly. When the packages module (package resolution shared
/// by every command) lands, this is the one function to switch over to it.
pub fn configured_packages(settings: &Settings) -> Result<Vec<PackageSource>> {
    let p = &settings.packages;
    let mut sources = Vec::new();
    match &p.core_git {
        Some(git) => sources.push(git_source("ANALYTICS_CORE_GIT_URL", &git.url, git.reference.as_deref())?),
        None => {
            let dbt_dir = p.core_path.join("dbt");
            if !dbt_dir.join("dbt_project.yml").is_file() {
                return Err(Error::file(&dbt_dir, "has no dbt project (dbt_project.yml) for the core package")
                    .with_hint("set ANALYTICS_CORE_PATH to a package folder with a dbt/ project"));
            }
            sources.push(PackageSource::Local(dbt_dir));
        }
    }
    for git in &p.extension_git {
        sources.push(git_source("ANALYTICS_EXTENSION_GIT_URLS", &git.url, git.reference.as_deref())?);
    }
    for path in &p.extension_paths {
        if !path.is_dir() {
            return Err(Error::file(path, "does not exist (listed in ANALYTICS_EXTENSIONS_PATHS)")
                .with_hint("fix the path, or remove it from ANALYTICS_EXTENSIONS_PATHS"));
        }
        let dbt_dir = path.join("dbt");
        if dbt_dir.join("dbt_project.yml").is_file() {
            sources.push(PackageSource::Local(dbt_dir));
        }
    }
    Ok(sources)
}

/// A Git package. Credentials never go into packages.yml: GIT_TOKEN reaches git through dbt's
/// environment instead (see `invocation::environment`).
fn git_source(var: &str, url: &str, revision: Option<&str>) -> Result<PackageSource> {
    let has_credentials = url::Url::parse(url).is_ok_and(|u| !u.username().is_empty() || u.password().is_some());
    if has_credentials {
        return Err(Error::Config {
            var: var.to_string(),
            value: None,
            expected: "a Git URL without a user name or password in it".to_string(),
            hint: Some("remove the credentials from the URL and set GIT_TOKEN instead".to_string()),
        });
    }
    Ok(PackageSource::Git { url: url.to_string(), revision: revision.map(str::to_string) })
}

/// `packages.yml` for the runner project. Strings are JSON-quoted, which YAML reads as
/// double-quoted scalars, so any path or URL survives.
pub fn render_packages_yml(sources: &[PackageSource]) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::from(
        "# Written by `olmisctl dbt-build` / `dbt-test` from the configured analytics packages\n\
         # (ANALYTICS_CORE_*, ANALYTICS_EXTENSION*). Edits here are overwritten.\n\
         packages:\n",
    );
    for source in sources {
        match source {
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

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Vec<LockEntry>,
}

#[derive(Debug, Deserialize)]
struct LockEntry {
    local: Option<String>,
    git: Option<String>,
    name: Option<String>,
}

/// The dbt project name of each configured package, in the same order, from the
/// `package-lock.yml` that `dbt deps` wrote (it records every package's name).
pub fn project_names(lock_text: &str, lock_path: &Path, sources: &[PackageSource]) -> Result<Vec<String>> {
    let lock: Lock = serde_saphyr::from_str(lock_text)
        .map_err(|e| Error::file(lock_path, format!("is not a dbt package lock file: {e}")))?;
    sources
        .iter()
        .map(|source| {
            let entry = lock.packages.iter().find(|entry| match source {
                PackageSource::Local(path) => entry.local.as_deref() == Some(path.to_string_lossy().as_ref()),
                PackageSource::Git { url, .. } => entry.git.as_deref() == Some(url.as_str()),
            });
            entry.and_then(|e| e.name.clone()).ok_or_else(|| {
                Error::file(lock_path, format!("has no installed package for {}", source.label()))
                    .with_hint("run `olmisctl dbt-build` again; if it persists, delete package-lock.yml")
            })
        })
        .collect()
}

/// The default selector: every configured package's own resources.
pub fn default_selector(project_names: &[String]) -> String {
    project_names.iter().map(|name| format!("package:{name}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<PackageSource> {
        vec![
            PackageSource::Local(PathBuf::from("/p/examples/olmis-analytics-core/dbt")),
            PackageSource::Git { url: "https://git.example.org/mw.git".into(), revision: Some("v1.2.0".into()) },
            PackageSource::Git { url: "file:///srv/x \"y\".git".into(), revision: None },
        ]
    }

    #[test]
    fn packages_yml_names_local_and_git_packages() {
        let text = render_packages_yml(&sources());
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
    fn project_names_come_from_the_lock_in_configured_order() {
        let lock = r#"
packages:
  - git: file:///srv/x "y".git
    name: olmis_analytics_other
    revision: abc
  - local: /p/examples/olmis-analytics-core/dbt
    name: olmis_analytics_core
  - git: https://git.example.org/mw.git
    revision: 0123456789abcdef
    name: olmis_analytics_malawi
sha1_hash: 520b
"#;
        let names = project_names(lock, Path::new("package-lock.yml"), &sources()).unwrap();
        assert_eq!(names, ["olmis_analytics_core", "olmis_analytics_malawi", "olmis_analytics_other"]);
        assert_eq!(default_selector(&names[..2]), "package:olmis_analytics_core package:olmis_analytics_malawi");
        let err = project_names("packages: []\n", Path::new("package-lock.yml"), &sources()).unwrap_err();
        assert!(err.to_string().contains("no installed package for /p/examples"), "{err}");
    }

    #[test]
    fn git_urls_with_credentials_are_refused() {
        let err = git_source("ANALYTICS_CORE_GIT_URL", "https://me:tok@git.example.org/c.git", None).unwrap_err();
        assert!(!err.to_string().contains("tok"), "{err}");
        assert!(err.hint().unwrap().contains("GIT_TOKEN"));
        assert!(git_source("ANALYTICS_CORE_GIT_URL", "https://git.example.org/c.git", None).is_ok());
    }
}
