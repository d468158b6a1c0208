//! The Superset rules that must hold before a bundle goes to Superset: every file parses and has
//! its required fields (see [`super::tree`]), no UUID is defined twice (except a database that an
//! extension repeats identically to reference the core's), references resolve, and no database
//! file holds a credential. Pure: works on trees already read into memory.

use std::collections::BTreeMap;

use super::tree::{Asset, AssetKind, AssetTree, Finding};
use super::yaml;

/// A reference no tree of the set defines: the import looks it up in Superset before refusing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub package: String,
    pub file: std::path::PathBuf,
    pub from: AssetKind,
    pub kind: AssetKind,
    pub uuid: String,
}

impl Unresolved {
    /// The finding to report when Superset doesn't have the object either.
    pub fn finding(&self) -> Finding {
        Finding {
            rule: "superset.reference",
            package: self.package.clone(),
            file: self.file.clone(),
            line: None,
            message: format!(
                "{} points at {} {}, which no package defines and Superset does not have",
                self.from.resource(),
                self.kind.resource(),
                self.uuid
            ),
            hint: format!(
                "add the {} to the package (export it with `olmisctl superset-export`), or fix the UUID",
                self.kind.resource()
            ),
        }
    }
}

#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub unresolved: Vec<Unresolved>,
}

/// Runs the cross-file rules over `trees` (platform, core, extensions: references may point into
/// any of them). Reading problems already in the trees are included.
pub fn check(trees: &[AssetTree]) -> Checked {
    let mut out = Checked::default();
    let mut by_uuid: BTreeMap<&str, Vec<(&AssetTree, &Asset)>> = BTreeMap::new();
    for tree in trees {
        out.findings.extend(tree.findings.iter().cloned());
        for asset in &tree.assets {
            by_uuid.entry(asset.uuid.as_str()).or_default().push((tree, asset));
        }
    }
    for (uuid, defs) in &by_uuid {
        let (first_tree, first) = defs[0];
        for (tree, other) in &defs[1..] {
            if first.kind == AssetKind::Database && other.kind == AssetKind::Database && same_document(first, other) {
                continue;
            }
            out.findings.push(Finding {
                rule: "superset.duplicate_uuid",
                package: tree.package.clone(),
                file: tree.dir.join(&other.path),
                line: None,
                message: format!(
                    "uuid {uuid} is already defined by {} ({})",
                    first_tree.dir.join(&first.path).display(),
                    first_tree.package
                ),
                hint: "give this asset its own UUID; only a database may be repeated, and then identically".into(),
            });
        }
    }
    for tree in trees {
        for asset in &tree.assets {
            let wanted = match asset.kind {
                AssetKind::Database => {
                    out.findings.extend(database_secrets(tree, asset));
                    continue;
                }
                AssetKind::Dataset => AssetKind::Database,
                AssetKind::Chart => AssetKind::Dataset,
                AssetKind::Dashboard => AssetKind::Chart,
            };
            for reference in &asset.references {
                let found =
                    by_uuid.get(reference.as_str()).is_some_and(|defs| defs.iter().any(|(_, a)| a.kind == wanted));
                if !found {
                    out.unresolved.push(Unresolved {
                        package: tree.package.clone(),
                        file: tree.dir.join(&asset.path),
                        from: asset.kind,
                        kind: wanted,
                        uuid: reference.clone(),
                    });
                }
            }
        }
    }
    out
}

fn same_document(a: &Asset, b: &Asset) -> bool {
    match (yaml::parse(&a.text), yaml::parse(&b.text)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Superset masks exported passwords with X's; any other value in a credential is a leak.
fn is_masked(value: &str) -> bool {
    value.is_empty() || value.chars().all(|c| c == 'X')
}

/// A real (unmasked) password in a database URI.
pub fn uri_has_password(uri: &str) -> bool {
    url::Url::parse(uri).ok().and_then(|u| u.password().map(|p| !is_masked(p))).unwrap_or(false)
}

fn database_secrets(tree: &AssetTree, asset: &Asset) -> Vec<Finding> {
    let Ok(doc) = yaml::parse(&asset.text) else { return Vec::new() };
    let mut found = Vec::new();
    if yaml::text(&doc, "sqlalchemy_uri").is_some_and(|uri| uri_has_password(&uri)) {
        found.push("sqlalchemy_uri contains a password");
    }
    if yaml::text(&doc, "password").is_some_and(|p| !is_masked(&p)) {
        found.push("`password` holds a password");
    }
    found
        .into_iter()
        .map(|what| Finding {
            rule: "secrets.database",
            package: tree.package.clone(),
            file: tree.dir.join(&asset.path),
            line: None,
            message: what.to_string(),
            hint: "mask it as XXXXXXXXXX; `superset-import` sends the real one from CLICKHOUSE_PASSWORD".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::superset::tree::summarize;
    use std::path::Path;

    const DB: &str = "database_name: DB\nsqlalchemy_uri: clickhousedb://u:XXXXXXXXXX@h:8123/curated\nuuid: 00000000-0000-0000-0000-000000000001\nversion: 1.0.0\n";
    const DS: &str = "table_name: t\ndatabase_uuid: 00000000-0000-0000-0000-000000000001\nuuid: 00000000-0000-0000-0000-000000000002\nversion: 1.0.0\n";
    const CH: &str = "slice_name: c\nviz_type: pie\ndataset_uuid: 00000000-0000-0000-0000-000000000002\nuuid: 00000000-0000-0000-0000-000000000003\nversion: 1.0.0\n";

    fn tree(package: &str, files: &[(&str, &str)]) -> AssetTree {
        let assets = files.iter().map(|(p, t)| summarize(package, Path::new(p), t.to_string()).unwrap()).collect();
        AssetTree { package: package.into(), dir: format!("/{package}").into(), assets, findings: Vec::new() }
    }

    #[test]
    fn a_complete_set_passes_and_a_repeated_database_is_allowed() {
        let core = tree("core", &[("databases/db.yaml", DB), ("datasets/db/t.yaml", DS), ("charts/c.yaml", CH)]);
        let ext = tree("ext", &[("databases/db.yaml", DB)]);
        let checked = check(&[core, ext]);
        assert!(checked.findings.is_empty() && checked.unresolved.is_empty(), "{checked:?}");
    }

    #[test]
    fn duplicates_missing_references_and_passwords_are_found() {
        let core = tree("core", &[("databases/db.yaml", DB), ("charts/c.yaml", CH)]);
        let ext = tree(
            "ext",
            &[
                ("databases/db.yaml", &DB.replace("XXXXXXXXXX", "hunter2")),
                ("charts/c.yaml", &CH.replace("slice_name: c", "slice_name: d")),
            ],
        );
        let checked = check(&[core, ext]);
        let rules: Vec<&str> = checked.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec!["superset.duplicate_uuid", "superset.duplicate_uuid", "secrets.database"]);
        assert!(!checked.findings.iter().any(|f| f.message.contains("hunter2")));
        assert_eq!(checked.unresolved.len(), 2);
        assert_eq!(checked.unresolved[0].kind, AssetKind::Dataset);
        assert!(checked.unresolved[0].finding().message.contains("00000000-0000-0000-0000-000000000002"));
    }
}
