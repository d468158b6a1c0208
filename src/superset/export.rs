//! Turns the ZIP Superset exports into files a package can keep in Git: environment-specific ids
//! removed or renumbered, passwords masked, lists in a stable order, and a stable file name per
//! object (the name it already has in the package, else one derived from its title), so a change
//! made in the UI shows up as a small, reviewable diff.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;

use saphyr::{Scalar, Yaml};

use super::bundle::MASK;
use super::tree::AssetTree;
use super::yaml;
use crate::packages::superset::AssetKind;

/// One object of an export, normalized.
#[derive(Debug, Clone)]
pub struct ExportedAsset {
    pub kind: AssetKind,
    pub uuid: String,
    pub title: String,
    /// Datasets: the UUID of their database (decides the `datasets/<db>/` folder).
    pub database_uuid: Option<String>,
    pub text: String,
}

/// Reads an export ZIP (one top-level folder with `databases/`, `datasets/`, ...).
pub fn read_zip(bytes: &[u8]) -> Result<Vec<ExportedAsset>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("the export is not a ZIP: {e}"))?;
    let mut assets = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| format!("the export ZIP is damaged: {e}"))?;
        let name = file.name().map_err(|e| format!("the export ZIP has a bad entry name: {e}"))?.to_string();
        // Drop the top-level folder Superset wraps everything in.
        let inner = name.split_once('/').map_or(name.as_str(), |(_, rest)| rest);
        let Some(kind) = AssetKind::of_path(std::path::Path::new(inner)) else { continue };
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| format!("{name} in the export is not text: {e}"))?;
        assets.push(normalize(kind, &text).map_err(|e| format!("{name} in the export: {e}"))?);
    }
    assets.sort_by(|a, b| (a.kind, &a.uuid).cmp(&(b.kind, &b.uuid)));
    Ok(assets)
}

/// Normalizes one exported file.
pub fn normalize(kind: AssetKind, text: &str) -> Result<ExportedAsset, String> {
    let mut doc = yaml::parse(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    match kind {
        AssetKind::Database => mask_database(&mut doc),
        AssetKind::Dataset => {
            sort_by_field(&mut doc, "columns", "column_name");
            sort_by_field(&mut doc, "metrics", "metric_name");
        }
        AssetKind::Chart => {
            if let Some(params) = yaml::get_mut(&mut doc, "params") {
                // Ids of this Superset; the import sets them from dataset_uuid.
                for key in ["datasource", "slice_id", "dashboards"] {
                    yaml::remove(params, key);
                }
            }
            // Holds the same ids; Superset rebuilds it when the chart is next saved.
            if yaml::get(&doc, "query_context").is_some() {
                yaml::set(&mut doc, "query_context", Yaml::Value(Scalar::Null));
            }
        }
        AssetKind::Dashboard => renumber_charts(&mut doc),
    }
    let field = |name: &str| yaml::text(&doc, name).unwrap_or_default();
    Ok(ExportedAsset {
        kind,
        uuid: field("uuid"),
        title: field(kind.title_field()),
        database_uuid: (kind == AssetKind::Dataset).then(|| field("database_uuid")),
        text: yaml::emit(&doc),
    })
}

fn mask_database(doc: &mut Yaml) {
    if let Some(uri) = yaml::text(doc, "sqlalchemy_uri")
        && let Ok(mut url) = url::Url::parse(&uri)
        && url.password().is_some_and(|p| p != MASK)
        && url.set_password(Some(MASK)).is_ok()
    {
        yaml::set(doc, "sqlalchemy_uri", yaml::string(url.to_string()));
    }
    yaml::remove(doc, "password");
}

fn sort_by_field(doc: &mut Yaml, list: &str, field: &str) {
    if let Some(Yaml::Sequence(items)) = yaml::get_mut(doc, list) {
        items.sort_by_key(|item| yaml::text(item, field).unwrap_or_default());
    }
}

/// Chart ids differ between Superset instances. Renumbers them 1..n in layout order, in the
/// layout and in every metadata field Superset's import remaps (so the import maps them back).
fn renumber_charts(doc: &mut Yaml) {
    let mut ids: BTreeMap<i64, i64> = BTreeMap::new();
    if let Some(Yaml::Mapping(position)) = yaml::get_mut(doc, "position") {
        for item in position.values_mut() {
            if yaml::text(item, "type").as_deref() != Some("CHART") {
                continue;
            }
            let Some(meta) = yaml::get_mut(item, "meta") else { continue };
            let Some(old) = yaml::get(meta, "chartId").and_then(|v| v.as_integer()) else { continue };
            let next = ids.len() as i64 + 1;
            let new = *ids.entry(old).or_insert(next);
            yaml::set(meta, "chartId", Yaml::Value(Scalar::Integer(new)));
        }
    }
    let Some(metadata) = yaml::get_mut(doc, "metadata") else { return };
    remap_list(yaml::get_mut(metadata, "timed_refresh_immune_slices"), &ids);
    remap_keys(yaml::get_mut(metadata, "expanded_slices"), &ids);
    if let Some(scopes) = yaml::get_mut(metadata, "filter_scopes") {
        remap_keys(Some(scopes), &ids);
        for columns in scopes.as_mapping_mut().into_iter().flat_map(|m| m.values_mut()) {
            for attributes in columns.as_mapping_mut().into_iter().flat_map(|m| m.values_mut()) {
                remap_list(yaml::get_mut(attributes, "immune"), &ids);
            }
        }
    }
    if let Some(text) = yaml::text(metadata, "default_filters")
        && let Ok(serde_json::Value::Object(filters)) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let remapped: serde_json::Map<String, serde_json::Value> = filters
            .into_iter()
            .filter_map(|(k, v)| k.parse::<i64>().ok().and_then(|old| ids.get(&old)).map(|new| (new.to_string(), v)))
            .collect();
        yaml::set(metadata, "default_filters", yaml::string(serde_json::Value::Object(remapped).to_string()));
    }
    if let Some(Yaml::Sequence(filters)) = yaml::get_mut(metadata, "native_filter_configuration") {
        for filter in filters {
            remap_scope(filter, &ids);
        }
    }
    if let Some(global) = yaml::get_mut(metadata, "global_chart_configuration") {
        remap_scope(global, &ids);
    }
    if let Some(config) = yaml::get_mut(metadata, "chart_configuration") {
        remap_keys(Some(config), &ids);
        for entry in config.as_mapping_mut().into_iter().flat_map(|m| m.values_mut()) {
            if let Some(old) = yaml::get(entry, "id").and_then(|v| v.as_integer())
                && let Some(new) = ids.get(&old)
            {
                yaml::set(entry, "id", Yaml::Value(Scalar::Integer(*new)));
            }
            if let Some(cross) = yaml::get_mut(entry, "crossFilters") {
                remap_scope(cross, &ids);
            }
        }
    }
}

/// `scope.excluded` and `chartsInScope` of a filter or cross-filter configuration.
fn remap_scope(node: &mut Yaml, ids: &BTreeMap<i64, i64>) {
    if let Some(scope) = yaml::get_mut(node, "scope") {
        remap_list(yaml::get_mut(scope, "excluded"), ids);
    }
    remap_list(yaml::get_mut(node, "chartsInScope"), ids);
}

/// A list of chart ids: mapped, unknown ones dropped (as Superset's import does), sorted.
fn remap_list(node: Option<&mut Yaml>, ids: &BTreeMap<i64, i64>) {
    if let Some(Yaml::Sequence(items)) = node {
        let mut mapped: Vec<i64> =
            items.iter().filter_map(|v| v.as_integer()).filter_map(|old| ids.get(&old).copied()).collect();
        mapped.sort_unstable();
        *items = mapped.into_iter().map(|id| Yaml::Value(Scalar::Integer(id))).collect();
    }
}

/// A mapping keyed by chart id: keys mapped, unknown ones dropped, ordered by the new id.
fn remap_keys(node: Option<&mut Yaml>, ids: &BTreeMap<i64, i64>) {
    if let Some(Yaml::Mapping(map)) = node {
        let mut entries: Vec<(i64, Yaml)> = std::mem::take(map)
            .into_iter()
            .filter_map(|(k, v)| {
                let old: i64 = yaml::key_text(&k)?.parse().ok()?;
                ids.get(&old).map(|new| (*new, v))
            })
            .collect();
        entries.sort_by_key(|(id, _)| *id);
        for (id, value) in entries {
            map.insert(yaml::string(id.to_string()), value);
        }
    }
}

/// Where each exported asset goes in the target package, and which ones stay with their owner.
#[derive(Debug, Default)]
pub struct Placement {
    /// Path relative to the assets directory, and the text to write.
    pub files: Vec<(PathBuf, String)>,
    /// Assets another configured package defines: (kind, title, owning package).
    pub owned_elsewhere: Vec<(AssetKind, String, String)>,
}

/// `exported` with the `sqlalchemy_uri` of `package_text`.
fn keep_uri(exported: &str, package_text: &str) -> String {
    match (yaml::parse(exported), yaml::parse(package_text)) {
        (Ok(mut doc), Ok(old)) => match yaml::text(&old, "sqlalchemy_uri") {
            Some(uri) => {
                yaml::set(&mut doc, "sqlalchemy_uri", yaml::string(uri));
                yaml::emit(&doc)
            }
            None => exported.to_string(),
        },
        _ => exported.to_string(),
    }
}

/// `title` as a file name: lowercase letters, digits and single underscores.
pub fn file_stem(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() { "asset".to_string() } else { trimmed.to_string() }
}

/// Decides file names. An object the target already has keeps its file; a database keeps the URI
/// its package wrote (host and port are rewritten at import anyway); an object another package
/// owns is not copied (except a database, which an extension repeats to reference the core's).
pub fn place(assets: &[ExportedAsset], target: &AssetTree, others: &[AssetTree]) -> Placement {
    let mut placement = Placement::default();
    let find = |tree: &AssetTree, uuid: &str| tree.assets.iter().find(|a| a.uuid == uuid).cloned();
    let mut taken: Vec<PathBuf> = target.assets.iter().map(|a| a.path.clone()).collect();
    let mut database_folders: BTreeMap<String, String> = BTreeMap::new();
    for asset in assets {
        let existing = find(target, &asset.uuid);
        let owner = others.iter().find_map(|t| find(t, &asset.uuid).map(|a| (t.package.clone(), a)));
        if asset.kind != AssetKind::Database
            && existing.is_none()
            && let Some((package, _)) = &owner
        {
            placement.owned_elsewhere.push((asset.kind, asset.title.clone(), package.clone()));
            continue;
        }
        let known = existing.clone().or_else(|| owner.as_ref().map(|(_, a)| a.clone()));
        let text = match (&known, asset.kind) {
            (Some(known), AssetKind::Database) => keep_uri(&asset.text, &known.text),
            _ => asset.text.clone(),
        };
        let path = match (&existing, &known, asset.kind) {
            (Some(e), _, _) => e.path.clone(),
            (None, Some(k), AssetKind::Database) => k.path.clone(),
            _ => {
                let folder = match asset.kind {
                    AssetKind::Dataset => {
                        let db = asset.database_uuid.clone().unwrap_or_default();
                        let db_folder = database_folders.get(&db).cloned().unwrap_or_else(|| "database".to_string());
                        PathBuf::from("datasets").join(db_folder)
                    }
                    kind => PathBuf::from(kind.folder()),
                };
                let stem = file_stem(&asset.title);
                let mut path = folder.join(format!("{stem}.yaml"));
                if taken.contains(&path) {
                    path = folder.join(format!("{stem}_{}.yaml", &asset.uuid[..8.min(asset.uuid.len())]));
                }
                path
            }
        };
        if asset.kind == AssetKind::Database {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            database_folders.insert(asset.uuid.clone(), stem);
        }
        taken.push(path.clone());
        placement.files.push((path, text));
    }
    placement
}

#[cfg(test)]
mod tests {
    use super::*;

    const DASHBOARD: &str = r#"dashboard_title: Stock
uuid: 00000000-0000-0000-0000-0000000000d1
position:
  ROOT_ID: {type: ROOT, id: ROOT_ID}
  CHART-b: {type: CHART, id: CHART-b, meta: {chartId: 42, uuid: b}}
  CHART-a: {type: CHART, id: CHART-a, meta: {chartId: 7, uuid: a}}
metadata:
  timed_refresh_immune_slices: [7, 99]
  expanded_slices: {"7": true}
  chart_configuration:
    "42": {id: 42, crossFilters: {scope: {rootPath: [ROOT_ID], excluded: [7]}, chartsInScope: [7]}}
  default_filters: '{"42": {"region": []}}'
version: 1.0.0
"#;

    #[test]
    fn dashboards_get_chart_ids_in_layout_order() {
        let out = normalize(AssetKind::Dashboard, DASHBOARD).unwrap().text;
        assert!(out.contains("chartId: 1\n      uuid: b"), "{out}");
        assert!(out.contains("chartId: 2\n      uuid: a"), "{out}");
        assert!(out.contains("timed_refresh_immune_slices:\n    - 2\n"), "{out}");
        assert!(out.contains("expanded_slices:\n    \"2\": true"), "{out}");
        assert!(out.contains("\"1\":\n      id: 1"), "{out}");
        assert!(out.contains("excluded:\n            - 2"), "{out}");
        assert!(out.contains(r#"default_filters: "{\"1\":{\"region\":[]}}""#), "{out}");
        assert!(!out.contains("42") && !out.contains("99"), "{out}");
    }

    #[test]
    fn charts_lose_instance_ids_and_databases_their_password() {
        let chart = "slice_name: C\nparams:\n  viz_type: pie\n  datasource: 12__table\n  slice_id: 3\nquery_context: '{\"datasource\": {\"id\": 12}}'\nuuid: x\n";
        let out = normalize(AssetKind::Chart, chart).unwrap().text;
        assert_eq!(out, "slice_name: C\nparams:\n  viz_type: pie\nquery_context: ~\nuuid: x\n");
        let db = "database_name: D\nsqlalchemy_uri: clickhousedb://u:secret@h:8123/c\npassword: secret\nuuid: y\n";
        let out = normalize(AssetKind::Database, db).unwrap().text;
        assert_eq!(out, "database_name: D\nsqlalchemy_uri: \"clickhousedb://u:XXXXXXXXXX@h:8123/c\"\nuuid: y\n");
    }

    #[test]
    fn file_stems_are_plain() {
        assert_eq!(file_stem("Malawi: stock status (by region)"), "malawi_stock_status_by_region");
        assert_eq!(file_stem("***"), "asset");
    }
}
