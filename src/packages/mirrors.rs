//! The marts that mirror a source table, as the packages declare them: a model with an
//! `olmis_reconcile` data test (the runner's `dbt/macros/reconcile.sql`) holds the rows of a source
//! table, compared by the key columns named on both sides (`keys`, `source_keys`), over the source
//! rows matching `source_where`, and over distinct source keys when `distinct: true`. `reconcile`
//! compares the models of this kind that dbt builds into the curated database, that is those
//! without a custom schema: staging models (`+schema: staging`) land in `<curated>_staging`.
//!
//! Pure functions over file text, then [`collect`], which reads the configured packages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::dbt;
use super::files;
use super::jinja;
use super::yaml::{self, Node};
use super::{Package, PackageSet};
use crate::settings::TableName;

/// The test's name; also accepted with a package prefix (`olmis_platform.olmis_reconcile`).
pub const TEST: &str = "olmis_reconcile";

/// One `olmis_reconcile` test of a model, as its properties file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub model: String,
    pub source_table: TableName,
    /// Key columns of the model.
    pub keys: Vec<String>,
    /// The same keys in the source table, in the same order (`keys` unless given).
    pub source_keys: Vec<String>,
    /// A filter on the source rows, SQL as written.
    pub source_where: Option<String>,
    /// Compare the distinct source key values.
    pub distinct: bool,
    /// `config:` of the model entry: a custom schema and an alias.
    pub schema: Option<String>,
    pub alias: Option<String>,
}

/// A declared mirror that lands in the curated database: the table dbt builds and what it mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The table's name in the curated database (the model's alias, or its name).
    pub relation: String,
    pub declaration: Declaration,
    /// Where it is declared, for messages: `<package>/<file>`.
    pub declared_in: String,
}

#[derive(Deserialize)]
struct PropertiesFile {
    #[serde(default)]
    models: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    name: Option<String>,
    #[serde(default)]
    data_tests: Vec<Value>,
    /// dbt's older name for `data_tests`.
    #[serde(default)]
    tests: Vec<Value>,
    #[serde(default)]
    config: Option<Value>,
}

/// The `olmis_reconcile` declarations of one properties file (`models/**/*.yml`), and a message
/// for each one that can't be used. Err: the file is not a readable properties file.
pub fn parse_properties(text: &str) -> Result<(Vec<Declaration>, Vec<String>), String> {
    if yaml::parse(text).map_err(|e| format!("line {}: {}", e.line, e.message))?.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    let file: PropertiesFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let mut declarations = Vec::new();
    let mut problems = Vec::new();
    for entry in file.models {
        let Some(model) = entry.name else { continue };
        let config = entry.config.as_ref();
        if config.and_then(|c| c.get("enabled")) == Some(&Value::Bool(false)) {
            continue;
        }
        let text_config = |key: &str| config.and_then(|c| c.get(key)).and_then(Value::as_str).map(str::to_string);
        for test in entry.data_tests.iter().chain(&entry.tests) {
            let Some(body) = reconcile_test(test) else { continue };
            match declaration(&model, body) {
                Ok(mut d) => {
                    d.schema = text_config("schema");
                    d.alias = text_config("alias");
                    declarations.push(d);
                }
                Err(message) => problems.push(format!("model {model}: {TEST}: {message}")),
            }
        }
    }
    Ok((declarations, problems))
}

/// The body of a data test entry if it is `olmis_reconcile`.
fn reconcile_test(test: &Value) -> Option<&Value> {
    let map = test.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (name, body) = map.iter().next()?;
    (name == TEST || name.rsplit_once('.').is_some_and(|(_, n)| n == TEST)).then_some(body)
}

fn declaration(model: &str, body: &Value) -> Result<Declaration, String> {
    // dbt >= 1.10 nests the arguments under `arguments:`; before, they sat beside `config:`.
    let args = body.get("arguments").unwrap_or(body);
    let source_table =
        args.get("source_table").and_then(Value::as_str).ok_or("field `source_table`: expected schema.table")?;
    let source_table = TableName::parse(source_table)
        .ok_or_else(|| format!("field `source_table`: {source_table:?} is not schema.table"))?;
    let names = |field: &str| -> Result<Option<Vec<String>>, String> {
        let Some(value) = args.get(field) else { return Ok(None) };
        let list: Option<Vec<String>> =
            value.as_array().and_then(|items| items.iter().map(|i| i.as_str().map(str::to_string)).collect());
        match list {
            Some(list) if !list.is_empty() => Ok(Some(list)),
            _ => Err(format!("field `{field}`: expected a list of column names")),
        }
    };
    let keys = names("keys")?.ok_or("field `keys`: expected a list of column names")?;
    let source_keys = names("source_keys")?.unwrap_or_else(|| keys.clone());
    if source_keys.len() != keys.len() {
        return Err(format!("`keys` has {} columns, `source_keys` {}: they must match", keys.len(), source_keys.len()));
    }
    let source_where = match args.get("source_where") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("field `source_where`: expected SQL text".into()),
    };
    let distinct = match args.get("distinct") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("field `distinct`: expected true or false".into()),
    };
    Ok(Declaration {
        model: model.to_string(),
        source_table,
        keys,
        source_keys,
        source_where,
        distinct,
        schema: None,
        alias: None,
    })
}

/// The custom schemas `dbt_project.yml` sets on model folders (`models: <project>: <folder>:
/// +schema: ...`), by folder relative to the model paths; the project's own level is the empty path.
pub fn folder_schemas(doc: Option<&Node>, project: &str) -> Vec<(PathBuf, String)> {
    fn visit(node: &Node, folder: &Path, out: &mut Vec<(PathBuf, String)>) {
        for (key, _, value) in yaml::entries(node) {
            let config = key.strip_prefix('+').unwrap_or(key);
            if config == "schema" {
                if let Some(schema) = yaml::as_str(value) {
                    out.push((folder.to_path_buf(), schema.to_string()));
                }
            } else if !key.starts_with('+') && yaml::is_mapping(value) {
                visit(value, &folder.join(key), out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(models) = doc.and_then(|d| yaml::get(d, "models")) {
        if let Some(schema) = yaml::get(models, "+schema").and_then(yaml::as_str) {
            out.push((PathBuf::new(), schema.to_string()));
        }
        if let Some(own) = yaml::get(models, project) {
            visit(own, Path::new(""), &mut out);
        }
    }
    out
}

/// The schema of the most specific folder configuration covering `folder`.
pub fn schema_of_folder<'s>(schemas: &'s [(PathBuf, String)], folder: &Path) -> Option<&'s str> {
    schemas
        .iter()
        .filter(|(f, _)| folder.starts_with(f))
        .max_by_key(|(f, _)| f.components().count())
        .map(|(_, s)| s.as_str())
}

/// A model's SQL file as far as mirrors care: its folder (relative to its model path) and its
/// `config()`.
#[derive(Debug, Clone, Default)]
pub struct ModelFile {
    pub folder: PathBuf,
    pub schema: Option<String>,
    pub alias: Option<String>,
}

/// Where dbt builds a declared model: None when it gets a custom schema (the SQL's `config()` wins
/// over the properties' `config:`, which wins over the folder's), else its relation in the curated
/// database.
pub fn curated_relation(d: &Declaration, file: &ModelFile, folders: &[(PathBuf, String)]) -> Option<String> {
    let schema = file.schema.as_deref().or(d.schema.as_deref()).or_else(|| schema_of_folder(folders, &file.folder));
    if schema.is_some() {
        return None;
    }
    Some(file.alias.clone().or_else(|| d.alias.clone()).unwrap_or_else(|| d.model.clone()))
}

/// The declared mirrors of the configured packages that land in the curated database, and what
/// could not be read (file and reason), for the report.
#[derive(Debug, Clone, Default)]
pub struct Mirrors {
    pub curated: Vec<Mirror>,
    pub problems: Vec<String>,
}

/// Reads the dbt projects of `set`.
pub fn collect(set: &PackageSet) -> Mirrors {
    let mut out = Mirrors::default();
    for package in set.iter() {
        collect_package(package, &mut out);
    }
    out.curated
        .sort_by(|a, b| (&a.relation, &a.declaration.source_table).cmp(&(&b.relation, &b.declaration.source_table)));
    out
}

fn collect_package(package: &Package, out: &mut Mirrors) {
    let Some(project) = &package.dbt else { return };
    let label = |file: &Path| format!("{}/{}", package.name(), file.display());
    let project_file = project.dir.join(dbt::PROJECT_FILE);
    let doc_text = match files::read_text(&project_file) {
        Ok(text) => text,
        Err(message) => return out.problems.push(format!("{}: {message}", project_file.display())),
    };
    let doc = match yaml::parse(&doc_text) {
        Ok(doc) => doc,
        Err(e) => return out.problems.push(format!("{}: line {}: {}", project_file.display(), e.line, e.message)),
    };
    let folders = folder_schemas(doc.as_ref(), &project.name);
    let mut unreadable = Vec::new();
    let mut models: BTreeMap<String, ModelFile> = BTreeMap::new();
    let mut declarations = Vec::new();
    for model_path in dbt::parse_project(doc.as_ref()).model_paths {
        let base = project.dir.join(&model_path);
        for file in files::walk(&project.dir, &base, &[".sql", ".py", ".yml", ".yaml"], &mut unreadable) {
            let text = match files::read_text(&project.dir.join(&file)) {
                Ok(text) => text,
                Err(message) => {
                    out.problems.push(format!("{}: {message}", label(&file)));
                    continue;
                }
            };
            match file.extension().and_then(|e| e.to_str()) {
                Some("yml" | "yaml") => match parse_properties(&text) {
                    Ok((found, problems)) => {
                        declarations.extend(found.into_iter().map(|d| (d, file.clone())));
                        out.problems.extend(problems.into_iter().map(|p| format!("{}: {p}", label(&file))));
                    }
                    Err(message) => out.problems.push(format!("{}: {message}", label(&file))),
                },
                ext => {
                    let facts = if ext == Some("py") { jinja::scan_code(&text) } else { jinja::scan_sql(&text) };
                    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    let folder = file
                        .parent()
                        .and_then(|p| p.strip_prefix(&model_path).ok())
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    models.insert(
                        name,
                        ModelFile { folder, schema: facts.schema.map(|(s, _)| s), alias: facts.alias.map(|(a, _)| a) },
                    );
                }
            }
        }
    }
    out.problems.extend(unreadable.into_iter().map(|u| format!("{}: {}", label(&u.file), u.message)));
    for (declaration, file) in declarations {
        let Some(model_file) = models.get(&declaration.model) else {
            let message = format!("model {}: {TEST} is declared, but the package has no such model", declaration.model);
            out.problems.push(format!("{}: {message}", label(&file)));
            continue;
        };
        if let Some(relation) = curated_relation(&declaration, model_file, &folders) {
            out.curated.push(Mirror { relation, declaration, declared_in: label(&file) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARTS: &str = r#"
version: 2
models:
  - name: mart_facility_directory
    data_tests:
      - olmis_reconcile:
          arguments:
            source_table: referencedata.facilities
            keys: [facility_id]
            source_keys: [id]
    columns:
      - name: facility_id
        data_tests: [not_null, unique]
  - name: mart_stock_status
    config: {alias: mart_status}
    data_tests:
      - dbt_utils.expression_is_true: {arguments: {expression: "1 = 1"}}
      - olmis_platform.olmis_reconcile:
          arguments:
            source_table: stockmanagement.stock_cards
            keys: [facility_id, program_id]
            source_keys: [facilityid, programid]
            distinct: true
  - name: mart_adjustments
    tests:
      - olmis_reconcile:
          source_table: stockmanagement.stock_card_line_items
          keys: [adjustment_id]
          source_keys: [id]
          source_where: reasonid IS NOT NULL
  - name: mart_off
    config: {enabled: false}
    data_tests:
      - olmis_reconcile: {arguments: {source_table: a.b, keys: [id]}}
"#;

    #[test]
    fn declarations_carry_keys_filter_and_distinct() {
        let (found, problems) = parse_properties(MARTS).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = found.iter().map(|d| d.model.as_str()).collect();
        assert_eq!(names, ["mart_facility_directory", "mart_stock_status", "mart_adjustments"]);
        assert_eq!(found[0].source_table.to_string(), "referencedata.facilities");
        assert_eq!(
            (found[0].keys.clone(), found[0].source_keys.clone()),
            (vec!["facility_id".into()], vec!["id".into()])
        );
        assert!(found[1].distinct && found[1].alias.as_deref() == Some("mart_status"));
        assert_eq!(found[1].source_keys, ["facilityid", "programid"]);
        assert_eq!(
            found[2].source_where.as_deref(),
            Some("reasonid IS NOT NULL"),
            "arguments beside config (dbt < 1.10)"
        );
        assert!(!found[2].distinct);
    }

    #[test]
    fn source_keys_default_to_the_keys() {
        let text = "models:\n  - name: stg_a\n    data_tests:\n      - olmis_reconcile: {arguments: {source_table: s.a, keys: [id]}}\n";
        let (found, _) = parse_properties(text).unwrap();
        assert_eq!(found[0].source_keys, ["id"]);
    }

    #[test]
    fn unusable_declarations_say_which_field() {
        let case = |args: &str| -> String {
            let text =
                format!("models:\n  - name: m\n    data_tests:\n      - olmis_reconcile: {{arguments: {args}}}\n");
            let (found, problems) = parse_properties(&text).unwrap();
            assert!(found.is_empty(), "{args}");
            problems.join("; ")
        };
        assert!(case("{keys: [id]}").contains("field `source_table`"));
        assert!(case("{source_table: facilities, keys: [id]}").contains("\"facilities\" is not schema.table"));
        assert!(case("{source_table: s.t, keys: id}").contains("field `keys`: expected a list"));
        assert!(case("{source_table: s.t, keys: []}").contains("field `keys`"));
        assert!(case("{source_table: s.t, keys: [a, b], source_keys: [x]}").contains("2 columns, `source_keys` 1"));
        assert!(case("{source_table: s.t, keys: [a], distinct: yes please}").contains("field `distinct`"));
        let problem = case("{source_table: s.t, keys: [a], source_where: [1]}");
        assert!(problem.starts_with("model m: olmis_reconcile: field `source_where`"), "{problem}");
    }

    #[test]
    fn files_without_models_or_not_yaml() {
        assert_eq!(parse_properties("").unwrap().0, vec![]);
        assert_eq!(parse_properties("version: 2\nsources: []\n").unwrap().0, vec![]);
        assert!(parse_properties("models: [\n").unwrap_err().starts_with("line "));
        assert!(parse_properties("models: {a: 1}\n").is_err());
    }

    const PROJECT: &str = "
name: core
models:
  core:
    +materialized: table
    +query_settings:
      join_use_nulls: 1
    staging:
      +schema: staging
      nested:
        +schema: other
    marts:
      +materialized: table
  other_project:
    +schema: elsewhere
";

    #[test]
    fn folder_schemas_follow_the_project_tree() {
        let doc = yaml::parse(PROJECT).unwrap();
        let folders = folder_schemas(doc.as_ref(), "core");
        assert_eq!(
            folders,
            vec![(PathBuf::from("staging"), "staging".into()), (PathBuf::from("staging/nested"), "other".into())]
        );
        assert_eq!(schema_of_folder(&folders, Path::new("staging/x")), Some("staging"));
        assert_eq!(schema_of_folder(&folders, Path::new("staging/nested")), Some("other"));
        assert_eq!(schema_of_folder(&folders, Path::new("marts")), None);
        assert_eq!(schema_of_folder(&folders, Path::new("")), None);
    }

    #[test]
    fn custom_schemas_keep_models_out_of_the_curated_database() {
        let doc = yaml::parse(PROJECT).unwrap();
        let folders = folder_schemas(doc.as_ref(), "core");
        let (found, _) = parse_properties(MARTS).unwrap();
        let in_marts = ModelFile { folder: "marts".into(), ..ModelFile::default() };
        assert_eq!(curated_relation(&found[0], &in_marts, &folders).as_deref(), Some("mart_facility_directory"));
        assert_eq!(
            curated_relation(&found[1], &in_marts, &folders).as_deref(),
            Some("mart_status"),
            "properties alias"
        );
        let aliased = ModelFile { alias: Some("sql_alias".into()), ..in_marts.clone() };
        assert_eq!(curated_relation(&found[1], &aliased, &folders).as_deref(), Some("sql_alias"), "config() wins");
        let staged = ModelFile { folder: "staging".into(), ..ModelFile::default() };
        assert_eq!(curated_relation(&found[0], &staged, &folders), None);
        let own_schema = ModelFile { schema: Some("x".into()), ..in_marts };
        assert_eq!(curated_relation(&found[0], &own_schema, &folders), None);
        let mut d = found[0].clone();
        d.schema = Some("y".into());
        assert_eq!(curated_relation(&d, &ModelFile::default(), &folders), None);
    }
}
