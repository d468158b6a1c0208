//! Superset assets as the validator sees them: one YAML file per database, dataset, chart or
//! dashboard (Superset's export layout), reduced to identity (UUID), references to other assets,
//! the table a dataset reads, and any credential written into it. Pure functions over parsed YAML.

use std::path::Path;

use serde::Serialize;

use super::yaml::{self, Node};

/// Where assets live inside a package.
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
    /// In import order: each kind refers only to kinds before it.
    pub const ALL: [AssetKind; 4] = [AssetKind::Database, AssetKind::Dataset, AssetKind::Chart, AssetKind::Dashboard];

    /// The kind of an asset from its folder under `superset/assets/` (`datasets/<db>/x.yaml` too).
    pub fn from_folder(folder: &str) -> Option<AssetKind> {
        AssetKind::ALL.into_iter().find(|k| k.folder() == folder)
    }

    /// The kind of a file from its path relative to the assets folder (`charts/x.yaml`).
    pub fn of_path(path: &Path) -> Option<AssetKind> {
        path.components().next().and_then(|c| c.as_os_str().to_str()).and_then(AssetKind::from_folder)
    }

    pub fn folder(self) -> &'static str {
        match self {
            AssetKind::Database => "databases",
            AssetKind::Dataset => "datasets",
            AssetKind::Chart => "charts",
            AssetKind::Dashboard => "dashboards",
        }
    }

    /// Also the REST resource name (`/api/v1/<kind>/`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Database => "database",
            AssetKind::Dataset => "dataset",
            AssetKind::Chart => "chart",
            AssetKind::Dashboard => "dashboard",
        }
    }

    /// Fields Superset's importer needs (its import schemas); without one the import fails, often
    /// with a bare HTTP 500, or creates a broken object.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            AssetKind::Database => &["database_name", "sqlalchemy_uri", "uuid", "version"],
            AssetKind::Dataset => &["table_name", "database_uuid", "uuid", "version"],
            AssetKind::Chart => &["slice_name", "viz_type", "dataset_uuid", "uuid", "version"],
            AssetKind::Dashboard => &["dashboard_title", "uuid", "version"],
        }
    }

    /// database_name, table_name, slice_name or dashboard_title.
    pub fn title_field(self) -> &'static str {
        self.required_fields()[0]
    }
}

/// A value with the line it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub kind: AssetKind,
    pub uuid: Option<At<String>>,
    /// database_name, table_name, slice_name or dashboard_title.
    pub title: Option<String>,
    /// Required fields that are absent or empty.
    pub missing: Vec<&'static str>,
    /// A `uuid` field whose value is not a UUID.
    pub malformed_uuid: Option<At<String>>,
    /// Dataset -> database, chart -> dataset.
    pub parent_uuid: Option<At<String>>,
    /// Dashboard -> charts (from the layout's CHART entries).
    pub chart_uuids: Vec<At<String>>,
    /// A physical dataset's table (virtual datasets with `sql` have none).
    pub table: Option<At<String>>,
    /// Credentials found in a database definition: (line, what).
    pub secrets: Vec<At<String>>,
    /// A database's whole document, for "is this the same definition" comparisons.
    pub content: Option<serde_json::Value>,
}

pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An asset file's document, or where and why it is not one: (line, message).
pub fn asset_doc<'n, 'a>(doc: Option<&'n Node<'a>>) -> Result<&'n Node<'a>, (usize, &'static str)> {
    match doc {
        Some(doc) if yaml::is_mapping(doc) => Ok(doc),
        Some(doc) => Err((yaml::line(doc), "is not a mapping of fields")),
        None => Err((1, "is empty")),
    }
}

pub fn parse_asset(kind: AssetKind, doc: &Node) -> Asset {
    let text_field =
        |key: &str| yaml::get(doc, key).and_then(|n| yaml::as_text(n).map(|v| At { value: v, line: yaml::line(n) }));
    let missing = kind
        .required_fields()
        .iter()
        .copied()
        .filter(|f| text_field(f).is_none_or(|v| v.value.trim().is_empty()))
        .collect();
    let uuid = text_field("uuid").filter(|u| !u.value.trim().is_empty());
    let malformed_uuid = uuid.clone().filter(|u| !is_uuid(u.value.trim()));
    let parent_uuid = match kind {
        AssetKind::Dataset => text_field("database_uuid"),
        AssetKind::Chart => text_field("dataset_uuid"),
        _ => None,
    };
    let virtual_dataset = yaml::get(doc, "sql").and_then(yaml::as_str).is_some_and(|s| !s.trim().is_empty());
    Asset {
        kind,
        title: text_field(kind.title_field()).map(|t| t.value),
        missing,
        malformed_uuid,
        parent_uuid,
        chart_uuids: if kind == AssetKind::Dashboard { dashboard_charts(doc) } else { Vec::new() },
        table: (kind == AssetKind::Dataset && !virtual_dataset).then(|| text_field("table_name")).flatten(),
        secrets: if kind == AssetKind::Database { database_secrets(doc) } else { Vec::new() },
        content: (kind == AssetKind::Database).then(|| yaml::to_json(doc)),
        uuid,
    }
}

/// The chart UUIDs a dashboard's layout places: `position: {CHART-x: {type: CHART, meta: {uuid}}}`.
fn dashboard_charts(doc: &Node) -> Vec<At<String>> {
    let Some(position) = yaml::get(doc, "position") else { return Vec::new() };
    yaml::entries(position)
        .into_iter()
        .filter(|(_, _, item)| yaml::get(item, "type").and_then(yaml::as_str) == Some("CHART"))
        .filter_map(|(_, _, item)| {
            let meta = yaml::get(item, "meta")?;
            let uuid = yaml::get(meta, "uuid")?;
            Some(At { value: yaml::as_text(uuid)?, line: yaml::line(uuid) })
        })
        .collect()
}

/// Superset masks exported passwords as X's; anything else in a credential field is a leak.
fn is_masked(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v.chars().all(|c| c == 'X' || c == '*') || is_placeholder(v)
}

/// `${VAR}`-style references are filled from the environment at import time, not secrets.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("${") && v.ends_with('}') && !v[2..v.len() - 1].contains(['$', '{', '}'])
}

/// Key names that hold credentials, in any casing and with any prefix (`ssh_tunnel_password`).
pub fn is_credential_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    ["password", "passwd", "secret", "token", "private_key", "api_key", "apikey", "credentials"]
        .iter()
        .any(|word| k.contains(word))
        || k == "pwd"
}

fn database_secrets(doc: &Node) -> Vec<At<String>> {
    let mut found = Vec::new();
    if let Some(uri) = yaml::get(doc, "sqlalchemy_uri")
        && let Some(text) = yaml::as_str(uri)
        && uri_has_password(text)
    {
        found.push(At { value: "sqlalchemy_uri contains a password".to_string(), line: yaml::line(uri) });
    }
    yaml::walk(doc, &mut |key, node| {
        let Some(key) = key else { return };
        if let Some(value) = yaml::as_text(node) {
            if is_credential_key(key) && !is_masked(&value) {
                found.push(At { value: format!("`{key}` holds a credential"), line: yaml::line(node) });
            } else if key.contains("extra") {
                // Superset stores some settings as JSON text (`extra`, `masked_encrypted_extra`).
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&value) {
                    for inner in json_credentials(&json, 0) {
                        found.push(At {
                            value: format!("`{key}` holds a credential in `{inner}`"),
                            line: yaml::line(node),
                        });
                    }
                }
            }
        }
    });
    found
}

fn json_credentials(value: &serde_json::Value, depth: usize) -> Vec<String> {
    let mut keys = Vec::new();
    if depth > 32 {
        return keys;
    }
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if is_credential_key(k) && !is_masked(s) => keys.push(k.clone()),
                    _ => keys.extend(json_credentials(v, depth + 1)),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys.extend(json_credentials(v, depth + 1))),
        _ => {}
    }
    keys
}

/// `scheme://user:password@host/...` with a real (unmasked) password.
pub fn uri_has_password(uri: &str) -> bool {
    let Some((_, rest)) = uri.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _host)) = authority.rsplit_once('@') else { return false };
    match userinfo.split_once(':') {
        Some((_, password)) => !is_masked(&percent_decode(password)),
        None => false,
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("p={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(kind: AssetKind, text: &str) -> Asset {
        parse_asset(kind, &yaml::parse(text).unwrap().unwrap())
    }

    const DB: &str = "database_name: OLMIS ClickHouse\nsqlalchemy_uri: clickhousedb://olmis:XXXXXXXXXX@clickhouse:8123/curated\nuuid: 5c1b4f3e-8a46-4a55-9a43-2f0f8d5b2d11\nversion: 1.0.0\nextra:\n  allows_virtual_table_explore: true\n";

    #[test]
    fn a_masked_database_is_clean() {
        let db = asset(AssetKind::Database, DB);
        assert!(db.missing.is_empty() && db.secrets.is_empty(), "{db:?}");
        assert_eq!(db.uuid.unwrap().line, 3);
    }

    #[test]
    fn passwords_in_database_yaml_are_found() {
        let db = asset(AssetKind::Database, &DB.replace("XXXXXXXXXX", "hunter2"));
        assert_eq!(db.secrets.len(), 1);
        assert_eq!(db.secrets[0].line, 2);
        assert!(!db.secrets[0].value.contains("hunter2"));
        let db = asset(AssetKind::Database, &format!("{DB}ssh_tunnel:\n  password: s3cret\n"));
        assert_eq!(db.secrets[0].value, "`password` holds a credential");
        let db = asset(
            AssetKind::Database,
            &format!("{DB}masked_encrypted_extra: '{{\"credentials_info\": {{\"private_key\": \"abc\"}}}}'\n"),
        );
        assert_eq!(db.secrets.len(), 1, "{:?}", db.secrets);
        let db = asset(AssetKind::Database, &format!("{DB}password: XXXXXXXXXX\n"));
        assert!(db.secrets.is_empty());
    }

    #[test]
    fn references_and_required_fields() {
        let chart = asset(
            AssetKind::Chart,
            "slice_name: Stock\nviz_type: table\n\"uuid\": 11111111-2222-3333-4444-555555555555\nversion: 1.0.0\nparams:\n  uuid: not-the-chart\n",
        );
        assert_eq!(chart.missing, vec!["dataset_uuid"]);
        assert_eq!(chart.uuid.unwrap().value, "11111111-2222-3333-4444-555555555555");
        let nested = asset(
            AssetKind::Chart,
            "slice_name: Stock\nviz_type: table\ndataset_uuid: x\nversion: 1.0.0\nparams:\n  uuid: 11111111-2222-3333-4444-555555555555\n",
        );
        assert!(nested.uuid.is_none() && nested.missing == vec!["uuid"]);
        let dash = asset(
            AssetKind::Dashboard,
            "dashboard_title: D\nuuid: 11111111-2222-3333-4444-555555555556\nposition:\n  CHART-a:\n    type: CHART\n    meta:\n      uuid: 11111111-2222-3333-4444-555555555555\n  ROOT_ID:\n    type: ROOT\n",
        );
        assert_eq!(dash.chart_uuids, vec![At { value: "11111111-2222-3333-4444-555555555555".into(), line: 7 }]);
        let virtual_ds = asset(AssetKind::Dataset, "table_name: q\nsql: select 1\ndatabase_uuid: x\nuuid: y\n");
        assert!(virtual_ds.table.is_none());
        assert!(virtual_ds.malformed_uuid.is_some());
    }

    #[test]
    fn uri_passwords() {
        assert!(uri_has_password("postgresql://u:p@h/db"));
        assert!(!uri_has_password("postgresql://u:XXXXXXXXXX@h/db"));
        assert!(!uri_has_password("postgresql://u@h/db"));
        assert!(!uri_has_password("clickhousedb://u:${CLICKHOUSE_PASSWORD}@h/db"));
        assert!(!uri_has_password("not a uri"));
    }
}
