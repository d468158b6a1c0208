//! An asset directory as Superset's export lays it out (`databases/`, `datasets/<db>/`, `charts/`,
//! `dashboards/`), read into memory: each file's text plus what identifies it (kind, UUID, title)
//! and what it points at (database, dataset or chart UUIDs). Reading never fails as a whole: a
//! file that can't be read or parsed becomes a [`Finding`] next to the others.

use std::path::{Path, PathBuf};

use crate::packages::model::AssetFile;
use crate::packages::superset::{self, ASSETS_DIR, AssetKind, At};
use crate::packages::{Finding, files, rules, yaml};

/// The assets folder of a directory the user names: a package's `superset/assets/`, or the
/// directory itself when it holds the asset folders (an unzipped export).
pub fn assets_dir_of(dir: &Path) -> PathBuf {
    let holds_assets = AssetKind::ALL.iter().any(|k| dir.join(k.folder()).is_dir());
    let is_package = dir.join(ASSETS_DIR).is_dir() || dir.join(crate::packages::manifest::FILE_NAME).is_file();
    if holds_assets && !is_package { dir.to_path_buf() } else { dir.join(ASSETS_DIR) }
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

/// Reads `dir` (an assets directory) as the validator does (see [`crate::packages::load`]): every
/// YAML file under the four asset folders. A missing directory is an empty tree.
pub fn read_tree(package: &str, dir: &Path) -> AssetTree {
    let mut tree = AssetTree { package: package.to_string(), dir: dir.to_path_buf(), ..AssetTree::default() };
    let mut unreadable = Vec::new();
    for kind in AssetKind::ALL {
        for rel in files::walk(dir, &dir.join(kind.folder()), &[".yaml", ".yml"], &mut unreadable) {
            let read = files::read_text(&dir.join(&rel)).map_err(|m| problem(package, &rel, "files.readable", None, m));
            match read.and_then(|text| summarize(package, kind, &rel, text)) {
                Ok(asset) => tree.assets.push(asset),
                Err(finding) => tree.findings.push(*finding),
            }
        }
    }
    let unreadable =
        unreadable.into_iter().map(|u| Finding::new("files.readable", package, Some(u.file), None, u.message));
    tree.findings.extend(unreadable);
    // By full path: trees of several packages are read at once. The rule's advice is the fix.
    for f in &mut tree.findings {
        f.file = f.file.as_ref().map(|rel| dir.join(rel));
    }
    tree
}

fn problem(package: &str, rel: &Path, rule: &'static str, line: Option<usize>, message: String) -> Box<Finding> {
    Box::new(Finding::new(rule, package, Some(rel.to_path_buf()), line, message))
}

/// Parses one file (`rel` to the assets directory) with the validator's rules for a single asset,
/// and extracts what the import, the export and `verify` need.
pub fn summarize(package: &str, kind: AssetKind, rel: &Path, text: String) -> Result<Asset, Box<Finding>> {
    let asset = read_fields(package, kind, rel, &text)?;
    Ok(Asset { text, ..asset })
}

fn read_fields(package: &str, kind: AssetKind, rel: &Path, text: &str) -> Result<Asset, Box<Finding>> {
    const REQUIRED: &str = "superset.required-fields";
    let doc = yaml::parse(text)
        .map_err(|e| problem(package, rel, "yaml.parse", Some(e.line), format!("is not valid YAML: {}", e.message)))?;
    let doc = superset::asset_doc(doc.as_ref()).map_err(|(line, message)| {
        problem(package, rel, REQUIRED, Some(line), format!("{} {message}", kind.as_str()))
    })?;
    let file = AssetFile { file: rel.to_path_buf(), asset: superset::parse_asset(kind, doc) };
    // A credential doesn't make the file unusable here; `superset-import` refuses it beforehand.
    if let Some(unusable) = rules::asset_fields(package, &file).into_iter().find(|f| f.rule == REQUIRED) {
        return Err(Box::new(unusable));
    }
    let parsed = file.asset;
    let at = |v: &At<String>| v.value.trim().to_string();
    let text_of = |field: &str| yaml::get(doc, field).and_then(yaml::as_text).filter(|s| !s.trim().is_empty());
    let references = match kind {
        AssetKind::Dashboard => parsed.chart_uuids.iter().map(at).collect(),
        _ => parsed.parent_uuid.iter().map(at).collect(),
    };
    let columns = yaml::get(doc, "columns")
        .map(yaml::items)
        .unwrap_or_default()
        .iter()
        .filter(|c| yaml::get(c, "expression").and_then(yaml::as_text).is_none_or(|e| e.trim().is_empty()))
        .filter_map(|c| yaml::get(c, "column_name").and_then(yaml::as_text))
        .collect();
    Ok(Asset {
        package: package.to_string(),
        path: rel.to_path_buf(),
        kind,
        title: parsed.title.unwrap_or_default().trim().to_string(),
        uuid: parsed.uuid.as_ref().map(at).unwrap_or_default(),
        references,
        schema: text_of("schema"),
        columns,
        is_virtual: kind == AssetKind::Dataset && parsed.table.is_none(),
        published: yaml::get(doc, "published").and_then(yaml::as_bool),
        slug: text_of("slug"),
        text: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &str = "slice_name: Stock\nviz_type: pie\nuuid: 11111111-2222-3333-4444-555555555555\ndataset_uuid: 11111111-2222-3333-4444-555555555556\nversion: 1.0.0\n";

    #[test]
    fn summarizes_a_chart() {
        let a = summarize("core", AssetKind::Chart, Path::new("charts/stock.yaml"), CHART.into()).unwrap();
        assert_eq!((a.kind, a.title.as_str()), (AssetKind::Chart, "Stock"));
        assert_eq!(a.references, vec!["11111111-2222-3333-4444-555555555556"]);
    }

    #[test]
    fn names_missing_fields_and_bad_yaml() {
        let chart = |text: String| summarize("core", AssetKind::Chart, Path::new("charts/x.yaml"), text);
        let err = chart(CHART.replace("viz_type: pie\n", "")).unwrap_err();
        assert_eq!(err.rule, "superset.required-fields");
        assert!(err.message.contains("viz_type"), "{err:?}");
        let err = chart("slice_name: [oops\n".into()).unwrap_err();
        assert_eq!(err.rule, "yaml.parse");
        assert!(err.line.is_some(), "{err:?}");
        let err = chart(CHART.replace("11111111-2222-3333-4444-555555555555", "abc")).unwrap_err();
        assert_eq!(err.rule, "superset.required-fields");
        // A credential is the import's to refuse; the asset itself is readable.
        let db = "database_name: D\nsqlalchemy_uri: clickhousedb://u:hunter2@h/db\nuuid: 11111111-2222-3333-4444-555555555559\nversion: 1.0.0\n";
        assert!(summarize("core", AssetKind::Database, Path::new("databases/d.yaml"), db.into()).is_ok());
    }

    #[test]
    fn dashboards_list_their_charts_in_layout_order() {
        let text = "dashboard_title: D\nuuid: 11111111-2222-3333-4444-555555555557\nversion: 1.0.0\nposition:\n  ROOT_ID: {type: ROOT}\n  CHART-b: {type: CHART, meta: {uuid: b}}\n  CHART-a: {type: CHART, meta: {uuid: a}}\n";
        let a = summarize("core", AssetKind::Dashboard, Path::new("dashboards/d.yaml"), text.into()).unwrap();
        assert_eq!(a.references, vec!["b", "a"]);
    }
}
