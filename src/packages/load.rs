//! Reads a package folder into a [`PackageModel`]. Never fails: whatever can't be read or parsed
//! becomes a finding in the model, so one broken file doesn't hide the problems of the others.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::connect;
use super::dbt::{self, ResourceKind};
use super::files::{self, Unreadable};
use super::jinja;
use super::manifest::{self, Part};
use super::model::{AssetFile, ConnectFile, DbtPackage, Finding, PackageModel, Resource};
use super::superset::{self, AssetKind};
use super::yaml;

/// Collects findings for one package while reading it.
struct Reader<'r> {
    root: &'r Path,
    label: String,
    problems: Vec<Finding>,
}

impl Reader<'_> {
    fn finding(&mut self, rule: &'static str, file: &Path, line: Option<usize>, message: String) {
        self.problems.push(Finding::new(rule, &self.label, Some(file.to_path_buf()), line, message));
    }

    fn unreadable(&mut self, list: Vec<Unreadable>) {
        for u in list {
            self.finding("files.readable", &u.file, None, u.message);
        }
    }

    /// The text of `rel`, or `None` after recording why it can't be read.
    fn text(&mut self, rel: &Path) -> Option<String> {
        match files::read_text(&self.root.join(rel)) {
            Ok(text) => Some(text),
            Err(message) => {
                self.finding("files.readable", rel, None, message);
                None
            }
        }
    }

    /// Reads and parses a YAML file; `None` (with a finding) when it can't be used.
    fn yaml<T>(&mut self, rel: &Path, use_doc: impl FnOnce(Option<&yaml::Node>) -> T) -> Option<T> {
        let text = self.text(rel)?;
        match yaml::parse(&text) {
            Ok(doc) => Some(use_doc(doc.as_ref())),
            Err(e) => {
                self.finding("yaml.parse", rel, Some(e.line), format!("is not valid YAML: {}", e.message));
                None
            }
        }
    }

    fn walk(&mut self, dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
        let mut unreadable = Vec::new();
        let found = files::walk(self.root, &self.root.join(dir), extensions, &mut unreadable);
        self.unreadable(unreadable);
        found
    }
}

/// The folder's own name (not `.` or a relative path), for a package without a usable manifest.
pub fn folder_label(root: &Path) -> String {
    root.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string())
}

pub fn load(root: &Path) -> PackageModel {
    let mut r = Reader { root, label: folder_label(root), problems: Vec::new() };
    let manifest = read_manifest(&mut r);
    if let Some(m) = &manifest {
        r.label = m.name.clone();
        for p in &mut r.problems {
            p.package = m.name.clone();
        }
    }
    let folders: BTreeSet<Part> = Part::ALL.into_iter().filter(|p| root.join(p.as_str()).is_dir()).collect();
    let connect = if folders.contains(&Part::Connect) { read_connect(&mut r) } else { Vec::new() };
    let dbt = folders.contains(&Part::Dbt).then(|| read_dbt(&mut r));
    let assets = if folders.contains(&Part::Superset) {
        read_assets(&mut r, Path::new(superset::ASSETS_DIR))
    } else {
        Vec::new()
    };
    PackageModel {
        root: root.to_path_buf(),
        label: r.label,
        manifest,
        folders,
        connect,
        dbt,
        assets,
        problems: r.problems,
    }
}

fn read_manifest(r: &mut Reader) -> Option<manifest::Manifest> {
    let rel = Path::new(manifest::FILE_NAME);
    let path = r.root.join(rel);
    if !path.exists() && std::fs::symlink_metadata(&path).is_err() {
        let message = format!("no {} in {}", manifest::FILE_NAME, r.root.display());
        r.finding("manifest.present", rel, None, message);
        return None;
    }
    let text = r.text(rel)?;
    let (manifest, problems) = manifest::parse(&text);
    for p in problems {
        r.problems.push(Finding {
            rule: p.rule,
            package: r.label.clone(),
            file: Some(rel.to_path_buf()),
            line: p.line,
            message: p.message,
            hint: p.hint,
        });
    }
    manifest
}

fn read_connect(r: &mut Reader) -> Vec<ConnectFile> {
    let mut out = Vec::new();
    for file in r.walk(Path::new("connect"), &[".json", ".json.tmpl"]) {
        if let Some(text) = r.text(&file) {
            out.push(ConnectFile { template: connect::parse_template(&text), file });
        }
    }
    out
}

fn read_dbt(r: &mut Reader) -> DbtPackage {
    let project_file = PathBuf::from("dbt").join(dbt::PROJECT_FILE);
    let mut pkg = DbtPackage { project_file: project_file.clone(), ..DbtPackage::default() };
    let project = if r.root.join(&project_file).exists() {
        pkg.project_found = true;
        r.yaml(&project_file, dbt::parse_project)
    } else {
        None
    };
    // Without a readable project file, dbt's default folders still tell us what the package holds.
    let project = project.unwrap_or_else(|| dbt::parse_project(None));
    pkg.name = project.name.clone();
    let base = PathBuf::from("dbt");
    let mut aliases = Vec::new();
    let mut read_properties = |r: &mut Reader, pkg: &mut DbtPackage, file: &Path| {
        if let Some(props) = r.yaml(file, |doc| doc.map(dbt::parse_properties)).flatten() {
            pkg.refs.extend(props.refs.into_iter().map(|x| (file.to_path_buf(), x)));
            pkg.sources.extend(props.sources.into_iter().map(|s| (file.to_path_buf(), s)));
            for (name, line) in props.snapshots {
                pkg.resources.push(Resource {
                    kind: ResourceKind::Snapshot,
                    name,
                    file: file.to_path_buf(),
                    line,
                    alias: None,
                });
            }
            aliases.extend(props.aliases.into_iter().map(|a| (file.to_path_buf(), a)));
        }
    };
    for dir in &project.model_paths {
        for file in r.walk(&base.join(dir), &[".sql", ".py", ".yml", ".yaml"]) {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if matches!(ext, "yml" | "yaml") {
                read_properties(r, &mut pkg, &file);
                continue;
            }
            let Some(text) = r.text(&file) else { continue };
            let facts = if ext == "py" { jinja::scan_code(&text) } else { jinja::scan_sql(&text) };
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let alias = facts.alias.map(|(a, line)| (a, file.clone(), line));
            pkg.refs.extend(facts.refs.into_iter().map(|x| (file.clone(), x)));
            pkg.resources.push(Resource { kind: ResourceKind::Model, name, file, line: 1, alias });
        }
    }
    for dir in &project.seed_paths {
        for file in r.walk(&base.join(dir), &[".csv", ".yml", ".yaml"]) {
            if file.extension().is_some_and(|e| e == "csv") {
                let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                pkg.resources.push(Resource { kind: ResourceKind::Seed, name, file, line: 1, alias: None });
            } else {
                read_properties(r, &mut pkg, &file);
            }
        }
    }
    for dir in &project.snapshot_paths {
        for file in r.walk(&base.join(dir), &[".sql", ".yml", ".yaml"]) {
            if file.extension().is_some_and(|e| e != "sql") {
                read_properties(r, &mut pkg, &file);
                continue;
            }
            let Some(text) = r.text(&file) else { continue };
            let facts = jinja::scan_sql(&text);
            pkg.refs.extend(facts.refs.into_iter().map(|x| (file.clone(), x)));
            for (name, line) in facts.snapshots {
                let alias = facts.alias.clone().map(|(a, l)| (a, file.clone(), l));
                pkg.resources.push(Resource { kind: ResourceKind::Snapshot, name, file: file.clone(), line, alias });
            }
        }
    }
    for dir in project.test_paths.iter().chain(&project.analysis_paths) {
        for file in r.walk(&base.join(dir), &[".sql", ".yml", ".yaml"]) {
            if file.extension().is_some_and(|e| e != "sql") {
                read_properties(r, &mut pkg, &file);
            } else if let Some(text) = r.text(&file) {
                pkg.refs.extend(jinja::scan_sql(&text).refs.into_iter().map(|x| (file.clone(), x)));
            }
        }
    }
    for (file, decl) in aliases {
        if let Some(res) = pkg.resources.iter_mut().find(|res| res.kind == decl.kind && res.name == decl.name) {
            res.alias = Some((decl.alias, file, decl.line));
        }
    }
    pkg
}

/// Superset assets that are not a package's: a folder laid out as `superset/assets/` is (the
/// project's platform assets, or an unzipped export), read with the same rules. File paths are
/// relative to `dir`.
pub fn load_assets(dir: &Path, label: &str) -> PackageModel {
    let mut r = Reader { root: dir, label: label.to_string(), problems: Vec::new() };
    let assets = read_assets(&mut r, Path::new(""));
    PackageModel {
        root: dir.to_path_buf(),
        label: r.label,
        manifest: None,
        folders: [Part::Superset].into(),
        connect: Vec::new(),
        dbt: None,
        assets,
        problems: r.problems,
    }
}

/// The assets under `dir` (relative to the root).
fn read_assets(r: &mut Reader, dir: &Path) -> Vec<AssetFile> {
    if !r.root.join(dir).is_dir() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for file in r.walk(dir, &[".yaml", ".yml"]) {
        // `metadata.yaml` and anything outside the four asset folders is not an asset.
        let Some(kind) = file.strip_prefix(dir).ok().and_then(AssetKind::of_path) else { continue };
        let parsed = r.yaml(&file, |doc| superset::asset_doc(doc).map(|doc| superset::parse_asset(kind, doc)));
        match parsed {
            Some(Ok(asset)) => out.push(AssetFile { file, asset }),
            Some(Err((line, message))) => {
                r.finding("superset.required-fields", &file, Some(line), format!("{} {message}", kind.as_str()))
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_folder_reads_like_a_packages_assets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("charts")).unwrap();
        std::fs::write(dir.path().join("metadata.yaml"), "version: 1.0.0\ntype: assets\n").unwrap();
        std::fs::write(dir.path().join("charts/bad.yaml"), "slice_name: [unclosed\n").unwrap();
        std::fs::write(dir.path().join("charts/empty.yaml"), "").unwrap();
        let model = load_assets(dir.path(), "export");
        assert_eq!(model.label, "export");
        let problems: Vec<(&str, String)> =
            model.problems.iter().map(|f| (f.rule, f.file.as_ref().unwrap().display().to_string())).collect();
        assert_eq!(
            problems,
            [
                ("yaml.parse", "charts/bad.yaml".to_string()),
                ("superset.required-fields", "charts/empty.yaml".to_string())
            ]
        );
    }
}
