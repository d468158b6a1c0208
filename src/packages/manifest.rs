//! `manifest.yaml`: the typed manifest and its parser. The parser reports every problem it finds
//! (not just the first), each with the line, so a package author fixes them in one go.
//! `docs/manifest.schema.json` publishes the same shape; a test keeps the two in step.

use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};
use serde::Serialize;

use super::yaml::{self, Node};

pub const FILE_NAME: &str = "manifest.yaml";

/// Every top-level field the manifest may have.
pub const FIELDS: &[&str] =
    &["name", "type", "version", "platform_version", "includes", "description", "requires_core"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Core,
    Extension,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Core => "core",
            PackageKind::Extension => "extension",
        }
    }
}

/// The parts a package can ship, each in the folder of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Connect,
    Dbt,
    Superset,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Connect, Part::Dbt, Part::Superset];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Connect => "connect",
            Part::Dbt => "dbt",
            Part::Superset => "superset",
        }
    }

    pub fn parse(text: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoreRequirement {
    pub name: String,
    #[serde(serialize_with = "as_string")]
    pub version: VersionReq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: PackageKind,
    #[serde(serialize_with = "as_string")]
    pub version: Version,
    #[serde(serialize_with = "as_string")]
    pub platform_version: VersionReq,
    pub includes: BTreeSet<Part>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_core: Option<CoreRequirement>,
    /// Line of each field present, for findings about the values.
    #[serde(skip)]
    pub lines: BTreeMap<&'static str, usize>,
}

fn as_string<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

impl Manifest {
    pub fn line(&self, field: &str) -> Option<usize> {
        self.lines.get(field).copied()
    }
}

/// What is wrong with a manifest, with the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static str,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn schema(line: usize, message: impl Into<String>) -> Problem {
        Problem { rule: "manifest.schema", line: Some(line), message: message.into(), hint: None }
    }

    fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

/// A lowercase slug: letters, digits and single dashes, starting with a letter.
pub fn is_slug(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64
}

/// Parses a manifest. Returns the manifest when every required field is usable (problems such as
/// unknown fields may still be reported beside it).
pub fn parse(text: &str) -> (Option<Manifest>, Vec<Problem>) {
    let doc = match yaml::parse(text) {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return (None, vec![Problem::schema(1, "is empty").hint("start from the example in docs/usage-guide.md")]);
        }
        Err(e) => {
            let problem = Problem {
                rule: "yaml.parse",
                line: Some(e.line),
                message: format!("is not valid YAML: {}", e.message),
                hint: None,
            };
            return (None, vec![problem]);
        }
    };
    if !yaml::is_mapping(&doc) {
        return (None, vec![Problem::schema(yaml::line(&doc), "must be a mapping of fields (name: ..., type: ...)")]);
    }
    let mut problems = Vec::new();
    let mut lines = BTreeMap::new();
    for (key, key_node, _) in yaml::entries(&doc) {
        match FIELDS.iter().find(|f| **f == key) {
            Some(field) => {
                lines.insert(*field, yaml::line(key_node));
            }
            None => problems.push(Problem {
                rule: "manifest.unknown-field",
                line: Some(yaml::line(key_node)),
                message: format!("unknown field `{key}`{}", suggestion(key)),
                hint: Some(format!("the fields are: {}", FIELDS.join(", "))),
            }),
        }
    }
    let mut p = FieldParser { doc: &doc, problems: &mut problems };
    let name = p.required("name", "a lowercase slug such as olmis-analytics-malawi", |n| {
        let s = yaml::as_str(n)?;
        is_slug(s).then(|| s.to_string())
    });
    let kind = p.required("type", "`core` or `extension`", |n| match yaml::as_str(n)? {
        "core" => Some(PackageKind::Core),
        "extension" => Some(PackageKind::Extension),
        _ => None,
    });
    let version = p.required("version", "a semantic version such as 1.0.0", |n| {
        yaml::as_str(n).and_then(|s| Version::parse(s.trim()).ok())
    });
    let platform_version = p.required("platform_version", "a semver requirement such as \">=0.1, <1\"", |n| {
        yaml::as_text(n).and_then(|s| VersionReq::parse(s.trim()).ok())
    });
    let includes = p.required("includes", "a list drawn from connect, dbt, superset", parse_includes);
    let description = p.optional("description", "a text", |n| yaml::as_str(n).map(str::to_string));
    let requires_core = p.optional(
        "requires_core",
        "a mapping with `name` (the core's name) and `version` (a semver requirement)",
        |n| {
            let name = yaml::get(n, "name").and_then(yaml::as_str).filter(|s| is_slug(s))?;
            let version =
                yaml::get(n, "version").and_then(yaml::as_text).and_then(|s| VersionReq::parse(s.trim()).ok())?;
            let known = yaml::entries(n).iter().all(|(k, _, _)| matches!(*k, "name" | "version"));
            known.then(|| CoreRequirement { name: name.to_string(), version })
        },
    );
    if let (Some(PackageKind::Core), Some(line)) = (kind, lines.get("requires_core")) {
        problems.push(
            Problem::schema(*line, "a core package cannot have `requires_core`")
                .hint("remove it, or set `type: extension` if this package extends a core"),
        );
    }
    let manifest = match (name, kind, version, platform_version, includes) {
        (Some(name), Some(kind), Some(version), Some(platform_version), Some(includes)) => Some(Manifest {
            name,
            kind,
            version,
            platform_version,
            includes,
            description: description.flatten(),
            requires_core: requires_core.flatten(),
            lines,
        }),
        _ => None,
    };
    (manifest, problems)
}

fn parse_includes(node: &Node) -> Option<BTreeSet<Part>> {
    if !yaml::is_sequence(node) {
        return None;
    }
    yaml::items(node).iter().map(|item| yaml::as_str(item).and_then(Part::parse)).collect()
}

fn suggestion(key: &str) -> String {
    let key = key.to_lowercase().replace('-', "_");
    let close = FIELDS.iter().find(|f| edit_distance(f, &key) <= 2);
    close.map(|f| format!(" (did you mean `{f}`?)")).unwrap_or_default()
}

/// Levenshtein distance, for "did you mean" on misspelt fields.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

struct FieldParser<'d, 'a, 'p> {
    doc: &'d Node<'a>,
    problems: &'p mut Vec<Problem>,
}

impl FieldParser<'_, '_, '_> {
    fn required<T>(&mut self, field: &str, expected: &str, read: impl Fn(&Node) -> Option<T>) -> Option<T> {
        match yaml::get(self.doc, field) {
            None => {
                self.problems.push(
                    Problem::schema(yaml::line(self.doc), format!("missing required field `{field}`"))
                        .hint(format!("add `{field}:` with {expected}")),
                );
                None
            }
            Some(node) => self.read(field, node, expected, read),
        }
    }

    /// `Some(None)` when absent, `None` when present but invalid.
    fn optional<T>(&mut self, field: &str, expected: &str, read: impl Fn(&Node) -> Option<T>) -> Option<Option<T>> {
        match yaml::get(self.doc, field) {
            None => Some(None),
            Some(node) => self.read(field, node, expected, read).map(Some),
        }
    }

    fn read<T>(&mut self, field: &str, node: &Node, expected: &str, read: impl Fn(&Node) -> Option<T>) -> Option<T> {
        let value = read(node);
        if value.is_none() {
            let shown = yaml::as_str(node).map(|v| format!(" {v:?}")).unwrap_or_default();
            self.problems
                .push(Problem::schema(yaml::line(node), format!("`{field}`{shown} is not valid: expected {expected}")));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "name: olmis-analytics-malawi\ntype: extension\nversion: 1.2.0\nplatform_version: \">=0.1, <1\"\nincludes: [dbt, superset]\ndescription: Malawi\nrequires_core:\n  name: olmis-analytics-core\n  version: ^1\n";

    #[test]
    fn parses_a_valid_manifest() {
        let (manifest, problems) = parse(VALID);
        assert!(problems.is_empty(), "{problems:?}");
        let m = manifest.unwrap();
        assert_eq!(m.name, "olmis-analytics-malawi");
        assert_eq!(m.kind, PackageKind::Extension);
        assert_eq!(m.includes, BTreeSet::from([Part::Dbt, Part::Superset]));
        assert_eq!(m.requires_core.clone().unwrap().name, "olmis-analytics-core");
        assert_eq!(m.line("includes"), Some(5));
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let text =
            "name: Malawi Pack\ntype: country\nversion: 1.0\nplatform_versoin: \">=0.1\"\nincludes: [dbt, grafana]\n";
        let (manifest, problems) = parse(text);
        assert!(manifest.is_none());
        let found: Vec<(&str, Option<usize>)> = problems.iter().map(|p| (p.rule, p.line)).collect();
        assert!(found.contains(&("manifest.unknown-field", Some(4))), "{problems:#?}");
        assert!(found.contains(&("manifest.schema", Some(1))), "{problems:#?}");
        assert!(found.contains(&("manifest.schema", Some(2))), "{problems:#?}");
        assert!(found.contains(&("manifest.schema", Some(3))), "{problems:#?}");
        assert!(found.contains(&("manifest.schema", Some(5))), "{problems:#?}");
        let unknown = problems.iter().find(|p| p.rule == "manifest.unknown-field").unwrap();
        assert!(unknown.message.contains("did you mean `platform_version`"), "{}", unknown.message);
        let missing =
            problems.iter().find(|p| p.rule == "manifest.schema" && p.message.contains("platform_version")).unwrap();
        assert!(missing.message.contains("missing required field"), "{}", missing.message);
    }

    #[test]
    fn malformed_documents_do_not_panic() {
        for text in
            ["", "- a\n- b\n", "name: [unclosed\n", "\u{0}", "includes: 3\n", "includes:\n", "requires_core: x\n"]
        {
            let _ = parse(text);
        }
        let (_, problems) = parse("name: [unclosed\n");
        assert_eq!(problems[0].rule, "yaml.parse");
    }

    #[test]
    fn core_cannot_require_a_core() {
        let text = VALID.replace("type: extension", "type: core");
        let (_, problems) = parse(&text);
        assert!(problems.iter().any(|p| p.message.contains("cannot have `requires_core`")), "{problems:?}");
    }

    #[test]
    fn slugs() {
        assert!(is_slug("olmis-analytics-core"));
        for bad in ["Core", "-a", "a-", "a--b", "a_b", "1a", ""] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    /// docs/manifest.schema.json documents exactly the fields the parser accepts.
    #[test]
    fn published_schema_matches_the_parser() {
        let text = include_str!("../../docs/manifest.schema.json");
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        let documented: BTreeSet<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(documented, FIELDS.iter().copied().collect::<BTreeSet<_>>());
        let parts: Vec<&str> = schema["properties"]["includes"]["items"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(parts, Part::ALL.map(Part::as_str));
        let required: Vec<&str> = schema["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        for field in required {
            let text = VALID_FOR_SCHEMA.lines().filter(|l| !l.starts_with(field)).collect::<Vec<_>>().join("\n");
            let (_, problems) = parse(&text);
            assert!(
                problems.iter().any(|p| p.message.contains(&format!("missing required field `{field}`"))),
                "{field}"
            );
        }
    }

    const VALID_FOR_SCHEMA: &str = "name: a\ntype: core\nversion: 1.0.0\nplatform_version: \">=0.1\"\nincludes: []\n";
}
