//! Which asset directories the configuration points at, in import order: the project's platform
//! assets (`superset/assets/`, optional), the core package, then each extension as configured.

use std::path::{Path, PathBuf};

use crate::settings::Settings;

use super::tree::ASSETS_DIR;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `platform`, or the package's manifest name (its folder's name without a manifest).
    pub package: String,
    pub package_dir: PathBuf,
    /// `<package>/superset/assets`.
    pub assets_dir: PathBuf,
}

/// The platform, core and extension sources; the platform only when its folder exists.
pub fn configured(settings: &Settings) -> Vec<Source> {
    let p = &settings.packages;
    let packages_dir = settings.project_dir.join(".packages");
    let core = if p.core_git.is_some() { packages_dir.join("core") } else { p.core_path.clone() };
    let extensions: Vec<PathBuf> = if p.extension_git.is_empty() {
        p.extension_paths.clone()
    } else {
        p.extension_git.iter().map(|g| packages_dir.join("extensions").join(repo_name(&g.url))).collect()
    };
    let platform = settings.project_dir.join(ASSETS_DIR);
    let mut sources = Vec::new();
    if platform.is_dir() {
        sources.push(Source {
            package: "platform".into(),
            package_dir: settings.project_dir.clone(),
            assets_dir: platform,
        });
    }
    sources.extend(std::iter::once(core).chain(extensions).map(|dir| package(&dir)));
    sources
}

/// A source for a package directory, or for an assets directory given directly.
pub fn package(dir: &Path) -> Source {
    if dir.join(ASSETS_DIR).is_dir() || dir.join("manifest.yaml").is_file() || !looks_like_assets(dir) {
        Source { package: package_name(dir), package_dir: dir.to_path_buf(), assets_dir: dir.join(ASSETS_DIR) }
    } else {
        let name =
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
        Source { package: name, package_dir: dir.to_path_buf(), assets_dir: dir.to_path_buf() }
    }
}

fn looks_like_assets(dir: &Path) -> bool {
    ["databases", "datasets", "charts", "dashboards"].iter().any(|f| dir.join(f).is_dir())
}

/// The manifest's `name`, else the folder's name.
fn package_name(dir: &Path) -> String {
    let from_manifest = std::fs::read_to_string(dir.join("manifest.yaml"))
        .ok()
        .and_then(|text| super::yaml::parse(&text).ok().and_then(|doc| super::yaml::text(&doc, "name")));
    from_manifest.unwrap_or_else(|| {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string())
    })
}

/// `https://host/org/olmis-analytics-malawi.git` -> `olmis-analytics-malawi` (the folder
/// `packages fetch` clones an extension into).
fn repo_name(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or(url);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_or_assets_directory() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(pkg.join("superset/assets/charts")).unwrap();
        std::fs::write(pkg.join("manifest.yaml"), "name: olmis-analytics-core\n").unwrap();
        let s = package(&pkg);
        assert_eq!((s.package.as_str(), s.assets_dir.clone()), ("olmis-analytics-core", pkg.join("superset/assets")));
        let s = package(&pkg.join("superset/assets"));
        assert_eq!(s.assets_dir, pkg.join("superset/assets"));
    }

    #[test]
    fn repo_names() {
        assert_eq!(repo_name("https://example.org/org/olmis-analytics-malawi.git"), "olmis-analytics-malawi");
        assert_eq!(repo_name("file:///srv/git/ext/"), "ext");
    }
}
