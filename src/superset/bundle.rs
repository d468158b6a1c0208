//! The ZIP Superset's assets import takes, built in memory from one asset tree. The same tree
//! always gives the same bytes (sorted entries, fixed timestamps), so a bundle's digest says
//! whether anything changed. The ClickHouse database's URI gets the host, port and user Superset
//! must use in this environment; its password stays masked and travels in the import's
//! `passwords` field instead.

use std::io::{Cursor, Write};

use saphyr::Yaml;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::tree::AssetTree;
use super::yaml;
use crate::packages::superset::AssetKind;

/// Superset's placeholder for a password it won't show. A URI without any password imports as
/// "no password" and wipes the stored one, so the mask must stay.
pub const MASK: &str = "XXXXXXXXXX";

/// Superset strips the ZIP's single top-level folder; its name doesn't matter.
const ROOT: &str = "olmis_assets";
const METADATA: &str = "version: 1.0.0\ntype: assets\n";

/// Where Superset reaches ClickHouse in this environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub secure: bool,
}

impl ClickHouseTarget {
    pub fn from_url(url: &url::Url, user: &str) -> Option<ClickHouseTarget> {
        Some(ClickHouseTarget {
            host: url.host_str()?.to_string(),
            port: url.port_or_known_default()?,
            user: user.to_string(),
            secure: url.scheme() == "https",
        })
    }
}

#[derive(Debug)]
pub struct Bundle {
    pub zip: Vec<u8>,
    /// Bundle paths (`databases/x.yaml`) of ClickHouse databases: each gets CLICKHOUSE_PASSWORD.
    pub clickhouse_databases: Vec<String>,
    /// SHA-256 of the ZIP, hex.
    pub digest: String,
    pub files: usize,
}

/// A ClickHouse URI (`clickhousedb://...`, `clickhouse+http://...`) gets the target's host, port
/// and user and a masked password; other databases are left alone.
pub fn rewrite_uri(uri: &str, target: &ClickHouseTarget) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if !url.scheme().starts_with("clickhouse") {
        return None;
    }
    url.set_host(Some(&target.host)).ok()?;
    url.set_port(Some(target.port)).ok()?;
    url.set_username(&target.user).ok()?;
    url.set_password(Some(MASK)).ok()?;
    let others: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "secure").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.set_query(None);
    if target.secure || !others.is_empty() {
        let mut query = url.query_pairs_mut();
        for (k, v) in &others {
            query.append_pair(k, v);
        }
        if target.secure {
            query.append_pair("secure", "true");
        }
    }
    Some(url.to_string())
}

/// Builds the bundle of `tree` (which must have passed the validator's Superset rules).
pub fn build(tree: &AssetTree, target: &ClickHouseTarget) -> Result<Bundle, String> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut clickhouse_databases = Vec::new();
    for asset in &tree.assets {
        let path = asset.path.to_string_lossy().replace('\\', "/");
        let mut text = asset.text.clone();
        if asset.kind == AssetKind::Database {
            let mut doc: Yaml = yaml::parse(&asset.text).map_err(|e| format!("{path}: {}", e.message))?;
            if let Some(uri) = yaml::text(&doc, "sqlalchemy_uri").and_then(|u| rewrite_uri(&u, target)) {
                yaml::set(&mut doc, "sqlalchemy_uri", yaml::string(uri));
                text = yaml::emit(&doc);
                clickhouse_databases.push(path.clone());
            }
        }
        entries.push((path, text));
    }
    entries.sort();
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let files = entries.len();
    for (path, text) in std::iter::once(("metadata.yaml".to_string(), METADATA.to_string())).chain(entries) {
        writer.start_file(format!("{ROOT}/{path}"), options).map_err(|e| e.to_string())?;
        writer.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    let zip = writer.finish().map_err(|e| e.to_string())?.into_inner();
    let digest = hex::encode(Sha256::digest(&zip));
    Ok(Bundle { zip, clickhouse_databases, digest, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::superset::tree::read_tree;

    fn target() -> ClickHouseTarget {
        ClickHouseTarget { host: "127.0.0.1".into(), port: 28123, user: "olmis".into(), secure: false }
    }

    #[test]
    fn rewrites_clickhouse_uris_only() {
        let uri = rewrite_uri("clickhousedb://someone:XXXXXXXXXX@clickhouse:8123/curated", &target()).unwrap();
        assert_eq!(uri, "clickhousedb://olmis:XXXXXXXXXX@127.0.0.1:28123/curated");
        let uri =
            rewrite_uri("clickhousedb://u@h/curated?x=1", &ClickHouseTarget { secure: true, ..target() }).unwrap();
        assert_eq!(uri, "clickhousedb://olmis:XXXXXXXXXX@127.0.0.1:28123/curated?x=1&secure=true");
        assert_eq!(rewrite_uri("postgresql://u:XXXXXXXXXX@h/db", &target()), None);
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path();
        std::fs::create_dir_all(assets.join("databases")).unwrap();
        std::fs::write(
            assets.join("databases/db.yaml"),
            "database_name: DB\nsqlalchemy_uri: clickhousedb://u:XXXXXXXXXX@clickhouse:8123/curated\nuuid: 00000000-0000-0000-0000-000000000001\nversion: 1.0.0\n",
        )
        .unwrap();
        let tree = read_tree("core", assets);
        let a = build(&tree, &target()).unwrap();
        let b = build(&tree, &target()).unwrap();
        assert_eq!((a.digest.as_str(), a.files), (b.digest.as_str(), 1));
        assert_eq!(a.clickhouse_databases, vec!["databases/db.yaml"]);
        let mut archive = zip::ZipArchive::new(Cursor::new(a.zip)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("olmis_assets/databases/db.yaml").unwrap(), &mut text)
            .unwrap();
        assert!(text.contains("clickhousedb://olmis:XXXXXXXXXX@127.0.0.1:28123/curated"), "{text}");
    }
}
