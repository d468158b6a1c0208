//! The dbt side of a package as the validator sees it: the project's name and folders
//! (`dbt_project.yml`), and what its properties YAML declares (aliases, sources, YAML-defined
//! snapshots, and `ref()`s inside test arguments). Pure functions over text.

use super::jinja::{self, RefCall};
use super::yaml::{self, Node};

pub const PROJECT_FILE: &str = "dbt_project.yml";

/// The parts of `dbt_project.yml` the validator needs, with dbt's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    pub name: Option<(String, usize)>,
    pub model_paths: Vec<String>,
    pub seed_paths: Vec<String>,
    pub snapshot_paths: Vec<String>,
    pub test_paths: Vec<String>,
    pub analysis_paths: Vec<String>,
}

/// dbt project names are identifiers: they become Python/Jinja names.
pub fn is_project_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads `dbt_project.yml`; `None` (an empty or missing file) gives dbt's defaults.
pub fn parse_project(doc: Option<&Node>) -> ProjectFile {
    let paths = |key: &str, default: &str| -> Vec<String> {
        match doc.and_then(|d| yaml::get(d, key)) {
            Some(node) if yaml::is_sequence(node) => {
                yaml::items(node).iter().filter_map(|n| yaml::as_str(n).map(str::to_string)).collect()
            }
            _ => vec![default.to_string()],
        }
    };
    ProjectFile {
        name: doc.and_then(|d| yaml::get_str(d, "name")).map(|(n, line)| (n.to_string(), line)),
        model_paths: paths("model-paths", "models"),
        seed_paths: paths("seed-paths", "seeds"),
        snapshot_paths: paths("snapshot-paths", "snapshots"),
        test_paths: paths("test-paths", "tests"),
        analysis_paths: paths("analysis-paths", "analyses"),
    }
}

/// A resource kind that owns a name (and a relation) in dbt's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Model,
    Seed,
    Snapshot,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Model => "model",
            ResourceKind::Seed => "seed",
            ResourceKind::Snapshot => "snapshot",
        }
    }
}

/// What one properties file (`schema.yml`, `_models.yml`, ...) declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// `config: {alias: ...}` set on a model, seed or snapshot by name.
    pub aliases: Vec<AliasDecl>,
    /// Snapshots defined in YAML (dbt >= 1.9: an entry with `relation:`).
    pub snapshots: Vec<(String, usize)>,
    /// Declared source tables: (source name, table name, identifier if different, line).
    pub sources: Vec<SourceTable>,
    pub refs: Vec<RefCall>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasDecl {
    pub kind: ResourceKind,
    pub name: String,
    pub alias: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTable {
    pub source: String,
    pub table: String,
    pub identifier: String,
    pub line: usize,
}

pub fn parse_properties(doc: &Node) -> Properties {
    let mut props = Properties::default();
    for (section, kind) in
        [("models", ResourceKind::Model), ("seeds", ResourceKind::Seed), ("snapshots", ResourceKind::Snapshot)]
    {
        for entry in yaml::get(doc, section).map(yaml::items).unwrap_or_default() {
            let Some((name, line)) = yaml::get_str(entry, "name") else { continue };
            let config = yaml::get(entry, "config");
            let alias = config.and_then(|c| yaml::get_str(c, "alias").or_else(|| yaml::get_str(c, "+alias")));
            if let Some((alias, alias_line)) = alias {
                props.aliases.push(AliasDecl {
                    kind,
                    name: name.to_string(),
                    alias: alias.to_string(),
                    line: alias_line,
                });
            }
            if kind == ResourceKind::Snapshot && yaml::get(entry, "relation").is_some() {
                props.snapshots.push((name.to_string(), line));
            }
        }
    }
    for source in yaml::get(doc, "sources").map(yaml::items).unwrap_or_default() {
        let Some((source_name, _)) = yaml::get_str(source, "name") else { continue };
        for table in yaml::get(source, "tables").map(yaml::items).unwrap_or_default() {
            let Some((table_name, line)) = yaml::get_str(table, "name") else { continue };
            let identifier = yaml::get_str(table, "identifier").map_or(table_name, |(i, _)| i);
            props.sources.push(SourceTable {
                source: source_name.to_string(),
                table: table_name.to_string(),
                identifier: identifier.to_string(),
                line,
            });
        }
    }
    // Tests and snapshot relations name models in strings: `to: ref('mart_x')`.
    yaml::walk(doc, &mut |_, node| {
        if let Some(text) = yaml::as_str(node).filter(|t| t.contains("ref(")) {
            let line = yaml::line(node);
            props
                .refs
                .extend(jinja::scan_code(text).refs.into_iter().map(|r| RefCall { line: line + r.line - 1, ..r }));
        }
    });
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_defaults_and_overrides() {
        let doc = yaml::parse("name: olmis_analytics_core\nmodel-paths: [\"transform\"]\n").unwrap().unwrap();
        let p = parse_project(Some(&doc));
        assert_eq!(p.name, Some(("olmis_analytics_core".to_string(), 1)));
        assert_eq!(p.model_paths, vec!["transform"]);
        assert_eq!(p.seed_paths, vec!["seeds"]);
    }

    #[test]
    fn properties_declare_aliases_sources_snapshots_and_refs() {
        let text = "\
version: 2
models:
  - name: mart_x
    config:
      alias: mart_stock_status
    columns:
      - name: facility_id
        tests:
          - relationships:
              to: ref('mart_facility_directory')
              field: facility_id
sources:
  - name: raw
    tables:
      - name: events_referencedata_facilities
      - name: facilities
        identifier: events_referencedata_facilities2
snapshots:
  - name: snap_orders
    relation: ref('stg_orders')
";
        let doc = yaml::parse(text).unwrap().unwrap();
        let p = parse_properties(&doc);
        assert_eq!(
            p.aliases,
            vec![AliasDecl {
                kind: ResourceKind::Model,
                name: "mart_x".into(),
                alias: "mart_stock_status".into(),
                line: 5
            }]
        );
        assert_eq!(p.sources.len(), 2);
        assert_eq!(p.sources[1].identifier, "events_referencedata_facilities2");
        assert_eq!(p.snapshots, vec![("snap_orders".to_string(), 19)]);
        let refs: Vec<(&str, usize)> = p.refs.iter().map(|r| (r.name.as_str(), r.line)).collect();
        assert_eq!(refs, vec![("mart_facility_directory", 10), ("stg_orders", 20)]);
    }
}
