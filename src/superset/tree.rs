//! An asset directory as Superset's export lays it out (`databases/`, `datasets/<db>/`, `charts/`,
//! `dashboards/`), read into memory: each file's text plus what identifies it (kind, UUID, title)
//! and what it points at (database, dataset or chart UUIDs). Reading never fails as a whole: a
//! file that can't be read or parsed becomes a [`Finding`] next to the others.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::yaml;

/// Where assets live inside a package (and, for platform assets, inside the project).
pub const ASSETS_DIR: &str = "superset/assets";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Database,
    Dataset,
    Chart,
    Dashboard,
}

impl AssetKind {
    pub const ALL: [AssetKind; 4] = [AssetKind::Database, AssetKind::Dataset, AssetKind::Chart, AssetKind::Dashboard];

    pub fn folder(self) -> &'static str {
        match self {
            AssetKind::Database => "databases",
            AssetKind::Dataset => "datasets",
            AssetKind::Chart => "charts",
            AssetKind::Dashboard => "dashboards",
        }
    }

    /// The REST resource name (`/api/v1/<resource>/`).
    pub fn resource(self) -> &'static str {
        match self {
            AssetKind::Database => "database",
            AssetKind::Dataset => "dataset",
            AssetKind::Chart => "chart",
            AssetKind::Dashboard => "dashboard",
        }
    }

    pub fn title_field(self) -> &'static str {
        match self {
            AssetKind::Database => "database_name",
            AssetKind::Dataset => "table_name",
            AssetKind::Chart => "slice_name",
            AssetKind::Dashboard => "dashboard_title",
        }
    }

    /// Fields Superset's importer requires (its import schemas); without one the import answers
    /// with a bare HTTP 500.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            AssetKind::Database => &["database_name", "sqlalchemy_uri", "uuid", "version"],
            AssetKind::Dataset => &["table_name", "database_uuid", "uuid", "version"],
            AssetKind::Chart => &["slice_name", "viz_type", "dataset_uuid", "uuid", "version"],
            AssetKind::Dashboard => &["dashboard_title", "uuid", "version"],
        }
    }

    /// The kind of a file from its path relative to the assets directory.
    pub fn of_path(path: &Path) -> Option<AssetKind> {
        let first = path.components().next()?.as_os_str().to_str()?;
        AssetKind::ALL.into_iter().find(|k| k.folder() == first)
    }
}

/// One problem in an asset directory: which file, which line if known, what is wrong, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub package: String,
    pub file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    pub hint: String,
}

impl Finding {
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

/// One asset file, read and summarized.
#[derive(Debug, Clone)]
pub struct Asset {
    pub package: String,
    /// Relative to the assets directory, e.g. `charts/stock_status_mix.yaml`.
    pub path: PathBuf,
    pub kind: AssetKind,
    pub text: String,
    pub uuid: String,
    pub title: String,
    /// Dataset -> its database, chart -> its dataset, dashboard -> its charts.
    pub references: Vec<String>,
    /// A dataset's `schema` (the ClickHouse database), if set.
    pub schema: Option<String>,
    /// A dataset's physical columns (those without an SQL expression).
    pub columns: Vec<String>,
    /// A dataset defined by SQL has no table of its own.
    pub is_virtual: bool,
    pub published: Option<bool>,
    pub slug: Option<String>,
}

/// The asset files of one directory.
#[derive(Debug, Clone, Default)]
pub struct AssetTree {
    pub package: String,
    pub dir: PathBuf,
    pub assets: Vec<Asset>,
    pub findings: Vec<Finding>,
}

impl AssetTree {
    pub fn of_kind(&self, kind: AssetKind) -> impl Iterator<Item = &Asset> {
        self.assets.iter().filter(move |a| a.kind == kind)
    }
}

/// Reads `dir` (an assets directory). A missing directory is an empty tree.
pub fn read_tree(package: &str, dir: &Path) -> AssetTree {
    let mut tree = AssetTree { package: package.to_string(), dir: dir.to_path_buf(), ..AssetTree::default() };
    let mut files = Vec::new();
    for kind in AssetKind::ALL {
        let folder = dir.join(kind.folder());
        if kind == AssetKind::Dataset {
            // datasets/<database>/<table>.yaml: one level of database folders.
            for sub in list(&folder, &mut tree, true) {
                files.extend(list(&sub, &mut tree, false));
            }
        } else {
            files.extend(list(&folder, &mut tree, false));
        }
    }
    for file in files {
        let rel = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
        match std::fs::read(&file) {
            Err(e) => tree.findings.push(finding(
                package,
                dir,
                &rel,
                None,
                "files.readable",
                format!("cannot be read: {e}"),
                "check the file's permissions",
            )),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(_) => tree.findings.push(finding(
                    package,
                    dir,
                    &rel,
                    None,
                    "files.readable",
                    "is not UTF-8 text".into(),
                    "asset files are YAML text; remove or re-export this file",
                )),
                Ok(text) => match summarize(package, &rel, text) {
                    Ok(asset) => tree.assets.push(asset),
                    Err((rule, line, message, hint)) => {
                        tree.findings.push(finding(package, dir, &rel, line, rule, message, hint))
                    }
                },
            },
        }
    }
    tree
}

fn finding(
    package: &str,
    dir: &Path,
    rel: &Path,
    line: Option<usize>,
    rule: &'static str,
    message: String,
    hint: &str,
) -> Finding {
    Finding { rule, package: package.to_string(), file: dir.join(rel), line, message, hint: hint.to_string() }
}

/// YAML files (or, with `dirs`, folders) directly in `folder`, sorted; hidden entries skipped.
fn list(folder: &Path, tree: &mut AssetTree, dirs: bool) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            let rel = folder.strip_prefix(&tree.dir).unwrap_or(folder).to_path_buf();
            let f = finding(
                &tree.package,
                &tree.dir,
                &rel,
                None,
                "files.readable",
                format!("cannot list the folder: {e}"),
                "check the folder's permissions",
            );
            tree.findings.push(f);
            return Vec::new();
        }
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.')))
        .filter(|p| if dirs { p.is_dir() } else { p.is_file() && is_yaml(p) })
        .collect();
    found.sort();
    found
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

type Problem = (&'static str, Option<usize>, String, &'static str);

/// Parses one file and extracts what the checks, the import and `verify` need.
pub fn summarize(package: &str, rel: &Path, text: String) -> Result<Asset, Problem> {
    let Some(kind) = AssetKind::of_path(rel) else {
        return Err((
            "superset.layout",
            None,
            "is not under databases/, datasets/, charts/ or dashboards/".into(),
            "move it into the folder of its kind",
        ));
    };
    let mut asset = read_fields(package, rel, kind, &text)?;
    asset.text = text;
    Ok(asset)
}

fn read_fields(package: &str, rel: &Path, kind: AssetKind, text: &str) -> Result<Asset, Problem> {
    let doc = yaml::parse(text).map_err(|e| -> Problem {
        (
            "yaml.parse",
            Some(e.line),
            format!("is not valid YAML: {}", e.message),
            "fix the syntax at that line (an editor with YAML support shows it)",
        )
    })?;
    if doc.as_mapping().is_none() {
        return Err((
            "yaml.parse",
            None,
            format!("must be a YAML mapping of {} fields", kind.resource()),
            "compare it with a file exported by `olmisctl superset-export`",
        ));
    }
    let missing: Vec<&str> = kind
        .required_fields()
        .iter()
        .copied()
        .filter(|f| yaml::text(&doc, f).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err((
            "superset.required",
            None,
            format!(
                "{} lacks required field{} {}",
                kind.resource(),
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            ),
            "add the field(s); `olmisctl superset-export` writes complete files",
        ));
    }
    let field = |name: &str| yaml::text(&doc, name).unwrap_or_default().trim().to_string();
    let uuid = field("uuid");
    if !is_uuid(&uuid) {
        return Err((
            "superset.uuid",
            None,
            format!("uuid {uuid:?} is not a UUID"),
            "use a UUID such as one from `uuidgen`",
        ));
    }
    let references = match kind {
        AssetKind::Database => Vec::new(),
        AssetKind::Dataset => vec![field("database_uuid")],
        AssetKind::Chart => vec![field("dataset_uuid")],
        AssetKind::Dashboard => dashboard_charts(&doc),
    };
    let columns = yaml::get(&doc, "columns")
        .and_then(|c| c.as_sequence())
        .map(|cols| {
            cols.iter()
                .filter(|c| yaml::text(c, "expression").is_none_or(|e| e.trim().is_empty()))
                .filter_map(|c| yaml::text(c, "column_name"))
                .collect()
        })
        .unwrap_or_default();
    Ok(Asset {
        package: package.to_string(),
        path: rel.to_path_buf(),
        kind,
        title: field(kind.title_field()),
        uuid,
        references,
        schema: yaml::text(&doc, "schema").filter(|s| !s.trim().is_empty()),
        columns,
        is_virtual: yaml::text(&doc, "sql").is_some_and(|s| !s.trim().is_empty()),
        published: yaml::get(&doc, "published").and_then(|p| p.as_bool()),
        slug: yaml::text(&doc, "slug").filter(|s| !s.trim().is_empty()),
        text: String::new(),
    })
}

/// Chart UUIDs a dashboard's layout places (`position.<CHART-x>.meta.uuid`), in layout order.
fn dashboard_charts(doc: &saphyr::Yaml) -> Vec<String> {
    let Some(position) = yaml::get(doc, "position").and_then(|p| p.as_mapping()) else { return Vec::new() };
    position
        .values()
        .filter(|item| yaml::text(item, "type").as_deref() == Some("CHART"))
        .filter_map(|item| yaml::get(item, "meta").and_then(|m| yaml::text(m, "uuid")))
        .collect()
}

pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &str = "slice_name: Stock\nviz_type: pie\nuuid: 11111111-2222-3333-4444-555555555555\ndataset_uuid: 11111111-2222-3333-4444-555555555556\nversion: 1.0.0\n";

    #[test]
    fn summarizes_a_chart() {
        let a = summarize("core", Path::new("charts/stock.yaml"), CHART.into()).unwrap();
        assert_eq!((a.kind, a.title.as_str()), (AssetKind::Chart, "Stock"));
        assert_eq!(a.references, vec!["11111111-2222-3333-4444-555555555556"]);
    }

    #[test]
    fn names_missing_fields_and_bad_yaml() {
        let err = summarize("core", Path::new("charts/x.yaml"), CHART.replace("viz_type: pie\n", "")).unwrap_err();
        assert_eq!(err.0, "superset.required");
        assert!(err.2.contains("viz_type"), "{err:?}");
        let err = summarize("core", Path::new("charts/x.yaml"), "slice_name: [oops\n".into()).unwrap_err();
        assert_eq!(err.0, "yaml.parse");
        let err =
            summarize("core", Path::new("charts/x.yaml"), CHART.replace("11111111-2222-3333-4444-555555555555", "abc"))
                .unwrap_err();
        assert_eq!(err.0, "superset.uuid");
    }

    #[test]
    fn dashboards_list_their_charts_in_layout_order() {
        let text = "dashboard_title: D\nuuid: 11111111-2222-3333-4444-555555555557\nversion: 1.0.0\nposition:\n  ROOT_ID: {type: ROOT}\n  CHART-b: {type: CHART, meta: {uuid: b}}\n  CHART-a: {type: CHART, meta: {uuid: a}}\n";
        let a = summarize("core", Path::new("dashboards/d.yaml"), text.into()).unwrap();
        assert_eq!(a.references, vec!["b", "a"]);
    }
}
