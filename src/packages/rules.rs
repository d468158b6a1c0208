//! The validator's rules: pure functions from the in-memory model of a package set to findings.
//! Rule ids are stable (CI scripts and docs refer to them); add new ones, never rename.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use semver::Version;

use super::connect;
use super::manifest::{PackageKind, Part};
use super::model::{AssetFile, Finding, PackageModel, Resource};
use super::superset::AssetKind;
use crate::settings::vars;

/// Which packages a rule is checked for (and so listed as PASS for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Every,
    Extension,
    Connect,
    Dbt,
    ExtensionDbt,
    Superset,
    Set,
}

pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    pub hint: &'static str,
    pub scope: Scope,
}

const fn rule(id: &'static str, scope: Scope, summary: &'static str, hint: &'static str) -> Rule {
    Rule { id, summary, hint, scope }
}

pub const RULES: &[Rule] = &[
    rule(
        "files.readable",
        Scope::Every,
        "every file the validator reads is readable text",
        "replace it with a text file, or fix or remove the symlink",
    ),
    rule("yaml.parse", Scope::Every, "every YAML file parses", "fix the YAML syntax at the line shown"),
    rule(
        "manifest.present",
        Scope::Every,
        "the package has a manifest.yaml",
        "create manifest.yaml at the package root (see docs/usage-guide.md, Packages)",
    ),
    rule(
        "manifest.schema",
        Scope::Every,
        "manifest fields are present and valid",
        "see docs/manifest.schema.json for every field",
    ),
    rule("manifest.unknown-field", Scope::Every, "the manifest has no unknown fields", "remove or rename the field"),
    rule(
        "manifest.includes",
        Scope::Every,
        "`includes` lists exactly the folders present",
        "make `includes` list exactly the folders the package has: connect, dbt, superset",
    ),
    rule(
        "manifest.platform-version",
        Scope::Every,
        "this olmisctl satisfies `platform_version`",
        "upgrade olmisctl, or widen `platform_version` if the package works with this version",
    ),
    rule(
        "manifest.requires-core",
        Scope::Extension,
        "the core matches `requires_core`",
        "pin a core that satisfies `requires_core`, or update the requirement",
    ),
    rule(
        "set.one-core",
        Scope::Set,
        "the set has exactly one core package",
        "validate one core with its extensions: olmisctl packages validate CORE EXTENSION...",
    ),
    rule("set.unique-names", Scope::Set, "package names are unique", "give each package its own `name`"),
    rule(
        "extend.no-connect",
        Scope::Extension,
        "an extension has no connect/ folder",
        "capture belongs to the core: remove connect/ and ask for the table in the core, or set SOURCE_PG_TABLE_ALLOWLIST",
    ),
    rule(
        "extend.dbt-project-name",
        Scope::ExtensionDbt,
        "dbt project names are unique across packages",
        "rename the project in dbt/dbt_project.yml (e.g. olmis_analytics_<country>)",
    ),
    rule(
        "extend.dbt-name-collision",
        Scope::ExtensionDbt,
        "no extension model, seed or snapshot takes the name or table of another package's",
        "extensions add, never replace: rename it with a country prefix (e.g. mart_mw_...) and drop the alias",
    ),
    rule(
        "dbt.project",
        Scope::Dbt,
        "dbt/ holds a dbt project with a valid name",
        "add dbt/dbt_project.yml with `name: <identifier>`",
    ),
    rule(
        "dbt.duplicate-resource",
        Scope::Dbt,
        "model, seed and snapshot names and tables are unique in the package",
        "rename one of them: dbt refuses two resources with one name or table",
    ),
    rule(
        "dbt.unresolved-ref",
        Scope::Dbt,
        "every ref() names a model, seed or snapshot of the set",
        "fix the name, or add the package that defines it",
    ),
    rule(
        "superset.required-fields",
        Scope::Superset,
        "every asset has the fields Superset's import needs",
        "add the field; export the asset from Superset to see a complete file",
    ),
    rule(
        "superset.uuid-reuse",
        Scope::Superset,
        "asset UUIDs are unique (an identical copy of another package's database excepted)",
        "give the asset a fresh UUID (e.g. `uuidgen`); to reuse the core's database, copy its file unchanged",
    ),
    rule(
        "superset.dangling-dataset-database",
        Scope::Superset,
        "every dataset's database_uuid names a database of the set",
        "point database_uuid at a database asset, or add the database's YAML to databases/",
    ),
    rule(
        "superset.dangling-chart-dataset",
        Scope::Superset,
        "every chart's dataset_uuid names a dataset of the set",
        "point dataset_uuid at a dataset asset, or add the dataset's YAML",
    ),
    rule(
        "superset.dangling-dashboard-chart",
        Scope::Superset,
        "every chart a dashboard places exists in the set",
        "add the chart's YAML, or remove it from the dashboard's position",
    ),
    rule(
        "superset.dataset-table",
        Scope::Superset,
        "every physical dataset reads a dbt model or declared source of the set",
        "point table_name at a mart, or declare the table as a dbt source",
    ),
    rule(
        "connect.template",
        Scope::Connect,
        "the connector template is valid JSON with known placeholders",
        "see the placeholder syntax in the core package's README",
    ),
    rule(
        "secrets.password-in-database",
        Scope::Superset,
        "no credential in a Superset database definition",
        "mask it as XXXXXXXXXX: superset-import supplies the password from the environment",
    ),
    rule(
        "secrets.password-in-connector",
        Scope::Connect,
        "no credential in the connector config",
        "use a placeholder such as ${SOURCE_PG_PASSWORD}",
    ),
];

pub fn find_rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Does `rule` apply to `pkg` (so a clean result is worth a PASS line)?
pub fn applies(rule: &Rule, pkg: &PackageModel) -> bool {
    let has = |part| pkg.folders.contains(&part);
    match rule.scope {
        Scope::Every => true,
        Scope::Extension => pkg.is_extension(),
        Scope::Connect => has(Part::Connect),
        Scope::Dbt => has(Part::Dbt),
        Scope::ExtensionDbt => pkg.is_extension() && has(Part::Dbt),
        Scope::Superset => has(Part::Superset),
        Scope::Set => false,
    }
}

/// The name findings about the set as a whole are filed under.
pub const SET: &str = "package set";

/// Runs every rule over the set. `platform` is the running olmisctl's version.
pub fn validate(set: &[PackageModel], platform: &Version) -> Vec<Finding> {
    let mut findings: Vec<Finding> = set.iter().flat_map(|p| p.problems.iter().cloned()).collect();
    findings.extend(set_rules(set));
    for (i, pkg) in set.iter().enumerate() {
        findings.extend(manifest_rules(pkg, platform));
        findings.extend(requires_core(pkg, set));
        if pkg.is_extension() && pkg.folders.contains(&Part::Connect) {
            findings.push(Finding::new(
                "extend.no-connect",
                &pkg.label,
                Some("connect".into()),
                None,
                "an extension has a connect/ folder; only the core configures change capture".into(),
            ));
        }
        findings.extend(connect_rules(pkg));
        findings.extend(dbt_rules(pkg));
        findings.extend(dbt_collisions(i, set));
        findings.extend(superset_uuid_reuse(i, set));
    }
    findings.extend(superset_fields(set));
    // Without a core, references into it can't be judged; set.one-core already says why.
    if set.iter().any(|p| p.kind() == Some(PackageKind::Core)) {
        findings.extend(dbt_refs(set));
        findings.extend(superset_references(set));
    }
    findings
}

/// Packages that `set[i]` must not clash with: the core and extensions listed before it (a clash
/// between two extensions is reported once, on the later one).
fn earlier(i: usize, set: &[PackageModel]) -> impl Iterator<Item = &PackageModel> {
    set.iter()
        .enumerate()
        .filter(move |(j, p)| *j != i && (*j < i || p.kind() == Some(PackageKind::Core)))
        .map(|(_, p)| p)
}

fn set_rules(set: &[PackageModel]) -> Vec<Finding> {
    let mut out = Vec::new();
    let cores: Vec<&PackageModel> = set.iter().filter(|p| p.kind() == Some(PackageKind::Core)).collect();
    if cores.is_empty() && !set.is_empty() {
        out.push(
            Finding::new(
                "set.one-core",
                SET,
                None,
                None,
                "no core package in the set: extensions are checked against their core".into(),
            )
            .with_hint("pass the core's folder too, or configure ANALYTICS_CORE_PATH or ANALYTICS_CORE_GIT_URL"),
        );
    }
    for extra in cores.iter().skip(1) {
        out.push(Finding::new(
            "set.one-core",
            SET,
            None,
            None,
            format!("more than one core package: {} and {}", cores[0].label, extra.label),
        ));
    }
    let mut seen: BTreeMap<&str, &PackageModel> = BTreeMap::new();
    for pkg in set.iter().filter(|p| p.manifest.is_some()) {
        if let Some(first) = seen.insert(&pkg.label, pkg) {
            out.push(Finding::new(
                "set.unique-names",
                SET,
                None,
                None,
                format!("two packages are named {}: {} and {}", pkg.label, first.root.display(), pkg.root.display()),
            ));
        }
    }
    out
}

fn manifest_rules(pkg: &PackageModel, platform: &Version) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(m) = &pkg.manifest else { return out };
    let file = Some(super::manifest::FILE_NAME.into());
    let includes_line = m.line("includes");
    for part in Part::ALL {
        let listed = m.includes.contains(&part);
        let present = pkg.folders.contains(&part);
        let message = match (listed, present) {
            (true, false) => format!("`includes` lists {} but there is no {}/ folder", part.as_str(), part.as_str()),
            (false, true) => {
                format!("there is a {}/ folder but `includes` does not list {}", part.as_str(), part.as_str())
            }
            _ => continue,
        };
        out.push(Finding::new("manifest.includes", &pkg.label, file.clone(), includes_line, message));
    }
    if !m.platform_version.matches(platform) {
        out.push(Finding::new(
            "manifest.platform-version",
            &pkg.label,
            file,
            m.line("platform_version"),
            format!("needs olmisctl {}, this is olmisctl {platform}", m.platform_version),
        ));
    }
    out
}

fn requires_core(pkg: &PackageModel, set: &[PackageModel]) -> Vec<Finding> {
    let Some(req) = pkg.manifest.as_ref().and_then(|m| m.requires_core.as_ref().map(|r| (r, m.line("requires_core"))))
    else {
        return Vec::new();
    };
    let (req, line) = req;
    let Some(core) = set.iter().filter_map(|p| p.manifest.as_ref()).find(|m| m.kind == PackageKind::Core) else {
        return Vec::new(); // set.one-core already says the core is missing.
    };
    let message = if core.name != req.name {
        format!("requires core {} but the set's core is {}", req.name, core.name)
    } else if !req.version.matches(&core.version) {
        format!("requires {} {} but the core is version {}", req.name, req.version, core.version)
    } else {
        return Vec::new();
    };
    vec![Finding::new("manifest.requires-core", &pkg.label, Some(super::manifest::FILE_NAME.into()), line, message)]
}

fn connect_rules(pkg: &PackageModel) -> Vec<Finding> {
    let mut out = Vec::new();
    let is_core = pkg.kind() == Some(PackageKind::Core);
    if is_core
        && pkg.folders.contains(&Part::Connect)
        && !pkg.connect.iter().any(|c| c.file.as_path() == Path::new(connect::TEMPLATE_FILE))
    {
        out.push(Finding::new(
            "connect.template",
            &pkg.label,
            Some("connect".into()),
            None,
            format!("the core has no {}", connect::TEMPLATE_FILE),
        ));
    }
    for c in &pkg.connect {
        let at = |line: usize| (Some(c.file.clone()), Some(line));
        for p in &c.template.problems {
            let (file, line) = at(p.line);
            out.push(Finding::new("connect.template", &pkg.label, file, line, p.message.clone()));
        }
        for p in &c.template.placeholders {
            if vars::lookup(&p.name).is_none() {
                let (file, line) = at(p.line);
                out.push(
                    Finding::new(
                        "connect.template",
                        &pkg.label,
                        file,
                        line,
                        format!("`${{{}}}` is not an olmisctl configuration variable", p.name),
                    )
                    .with_hint("use a variable from `olmisctl config` (e.g. SOURCE_PG_CONNECT_HOST)"),
                );
            }
        }
        if is_core
            && c.file.as_path() == Path::new(connect::TEMPLATE_FILE)
            && let Err((line, message)) = c.template.default_tables()
        {
            out.push(Finding::new("connect.template", &pkg.label, Some(c.file.clone()), line, message));
        }
        for (key, line) in &c.template.literal_secrets {
            let (file, line) = at(*line);
            out.push(Finding::new(
                "secrets.password-in-connector",
                &pkg.label,
                file,
                line,
                format!("`{key}` is written in clear"),
            ));
        }
    }
    out
}

fn dbt_rules(pkg: &PackageModel) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(dbt) = &pkg.dbt else { return out };
    let file = Some(dbt.project_file.clone());
    match &dbt.name {
        _ if !dbt.project_found => {
            out.push(Finding::new("dbt.project", &pkg.label, file, None, "dbt/ has no dbt_project.yml".into()))
        }
        None => out.push(Finding::new("dbt.project", &pkg.label, file, None, "dbt_project.yml has no `name`".into())),
        Some((name, line)) if !super::dbt::is_project_name(name) => out.push(Finding::new(
            "dbt.project",
            &pkg.label,
            file,
            Some(*line),
            format!("project name {name:?} is not an identifier (letters, digits, _)"),
        )),
        Some(_) => {}
    }
    let mut names: BTreeMap<&str, &Resource> = BTreeMap::new();
    let mut relations: BTreeMap<&str, &Resource> = BTreeMap::new();
    for res in &dbt.resources {
        if let Some(first) = names.insert(&res.name, res) {
            out.push(Finding::new(
                "dbt.duplicate-resource",
                &pkg.label,
                Some(res.file.clone()),
                Some(res.line),
                format!("{} has the same name as {}", res.describe(), first.describe()),
            ));
        } else if let Some(first) = relations.insert(res.relation(), res) {
            out.push(Finding::new(
                "dbt.duplicate-resource",
                &pkg.label,
                Some(res.file.clone()),
                Some(res.line),
                format!("{} builds table `{}`, as does {}", res.describe(), res.relation(), first.describe()),
            ));
        }
    }
    out
}

fn dbt_collisions(i: usize, set: &[PackageModel]) -> Vec<Finding> {
    let pkg = &set[i];
    let mut out = Vec::new();
    let Some(dbt) = pkg.dbt.as_ref().filter(|_| pkg.is_extension()) else { return out };
    for other in earlier(i, set) {
        let Some(theirs) = &other.dbt else { continue };
        if let (Some((name, line)), Some(their_name)) = (&dbt.name, other.dbt_name())
            && name == their_name
        {
            out.push(Finding::new(
                "extend.dbt-project-name",
                &pkg.label,
                Some(dbt.project_file.clone()),
                Some(*line),
                format!("dbt project name `{name}` is also the project name of {}", other.label),
            ));
        }
        let by_name: HashMap<&str, &Resource> = theirs.resources.iter().rev().map(|r| (r.name.as_str(), r)).collect();
        let by_relation: HashMap<&str, &Resource> = theirs.resources.iter().rev().map(|r| (r.relation(), r)).collect();
        for mine in &dbt.resources {
            let (line, file, message) = if let Some(their) = by_name.get(mine.name.as_str()) {
                let kind = other.kind().map_or("package", PackageKind::as_str);
                let message =
                    format!("{} has the name of {kind} {} in {}", mine.describe(), their.describe(), other.label);
                (mine.line, &mine.file, message)
            } else if let Some(their) = by_relation.get(mine.relation()) {
                let (line, file) = mine.alias.as_ref().map_or((mine.line, &mine.file), |(_, f, l)| (*l, f));
                let message = format!(
                    "{} builds table `{}`, which {} in {} already builds",
                    mine.describe(),
                    mine.relation(),
                    their.describe(),
                    other.label
                );
                (line, file, message)
            } else {
                continue;
            };
            out.push(Finding::new("extend.dbt-name-collision", &pkg.label, Some(file.clone()), Some(line), message));
        }
    }
    out
}

fn dbt_refs(set: &[PackageModel]) -> Vec<Finding> {
    let mut out = Vec::new();
    // Resource names per package, by position in the set.
    let names: Vec<HashSet<&str>> = set
        .iter()
        .map(|p| p.dbt.as_ref().map(|d| d.resources.iter().map(|r| r.name.as_str()).collect()).unwrap_or_default())
        .collect();
    for (i, pkg) in set.iter().enumerate() {
        let Some(dbt) = &pkg.dbt else { continue };
        let is_core = pkg.kind() == Some(PackageKind::Core);
        // A core must build on its own, so its refs resolve inside the core only.
        let visible: Vec<usize> =
            if is_core { vec![i] } else { (0..set.len()).filter(|j| set[*j].dbt.is_some()).collect() };
        for (file, r) in &dbt.refs {
            let defines = |j: &usize| names[*j].contains(r.name.as_str());
            let shown = match &r.package {
                Some(package) => format!("ref('{package}', '{}')", r.name),
                None => format!("ref('{}')", r.name),
            };
            let message = match &r.package {
                Some(package) => match visible.iter().find(|j| set[**j].dbt_name() == Some(package.as_str())) {
                    None => format!("{shown}: no dbt project named `{package}` in the package set"),
                    Some(j) if !defines(j) => {
                        format!("{shown}: {} has no model, seed or snapshot `{}`", set[*j].label, r.name)
                    }
                    Some(_) => continue,
                },
                None if visible.iter().any(defines) => continue,
                None if is_core && (0..set.len()).any(|j| defines(&j)) => {
                    format!("{shown} names a model of an extension; the core must build without extensions")
                }
                None => format!("{shown} does not name a model, seed or snapshot in the package set"),
            };
            out.push(Finding::new("dbt.unresolved-ref", &pkg.label, Some(file.clone()), Some(r.line), message));
        }
    }
    out
}

fn superset_uuid_reuse(i: usize, set: &[PackageModel]) -> Vec<Finding> {
    let pkg = &set[i];
    let mut out = Vec::new();
    let mut mine: BTreeMap<&str, &AssetFile> = BTreeMap::new();
    for a in &pkg.assets {
        let Some(uuid) = &a.asset.uuid else { continue };
        let key = uuid.value.trim();
        if let Some(first) = mine.insert(key, a) {
            out.push(Finding::new(
                "superset.uuid-reuse",
                &pkg.label,
                Some(a.file.clone()),
                Some(uuid.line),
                format!("UUID {key} is also the UUID of {}", first.file.display()),
            ));
            continue;
        }
        // One finding per asset, against the first package it clashes with.
        let same_uuid = |b: &&AssetFile| b.asset.uuid.as_ref().is_some_and(|u| u.value.trim() == key);
        let both_databases = |b: &AssetFile| a.asset.kind == AssetKind::Database && b.asset.kind == AssetKind::Database;
        let clash = earlier(i, set)
            .flat_map(|other| other.assets.iter().filter(same_uuid).map(move |b| (other, b)))
            .find(|(_, b)| !(both_databases(b) && a.asset.content == b.asset.content));
        if let Some((other, b)) = clash {
            let detail = if both_databases(b) { "; a database may be repeated only as an identical copy" } else { "" };
            let message = format!(
                "{} UUID {key} is already the UUID of {} {} in {}{detail}",
                a.asset.kind.as_str(),
                b.asset.kind.as_str(),
                b.file.display(),
                other.label
            );
            out.push(Finding::new("superset.uuid-reuse", &pkg.label, Some(a.file.clone()), Some(uuid.line), message));
        }
    }
    out
}

fn superset_fields(set: &[PackageModel]) -> Vec<Finding> {
    set.iter().flat_map(|pkg| pkg.assets.iter().flat_map(|a| asset_fields(&pkg.label, a))).collect()
}

/// What one asset must hold on its own: required fields, a real UUID, no credentials.
pub fn asset_fields(package: &str, a: &AssetFile) -> Vec<Finding> {
    let mut out = Vec::new();
    let asset = &a.asset;
    let finding = |rule, line, message| Finding::new(rule, package, Some(a.file.clone()), Some(line), message);
    if !asset.missing.is_empty() {
        let fields: Vec<String> = asset.missing.iter().map(|f| format!("`{f}`")).collect();
        out.push(finding(
            "superset.required-fields",
            1,
            format!("{} is missing {}", asset.kind.as_str(), fields.join(", ")),
        ));
    }
    if let Some(bad) = &asset.malformed_uuid {
        out.push(finding("superset.required-fields", bad.line, format!("uuid {:?} is not a UUID", bad.value)));
    }
    for secret in &asset.secrets {
        out.push(finding("secrets.password-in-database", secret.line, secret.value.clone()));
    }
    out
}

/// A UUID an asset points at that no asset of the set has (as the kind it must be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dangling {
    pub package: String,
    pub file: PathBuf,
    pub line: usize,
    /// The kind the UUID must name: a dataset's database, a chart's dataset, a dashboard's chart.
    pub kind: AssetKind,
    pub uuid: String,
}

impl Dangling {
    pub fn finding(&self) -> Finding {
        let (rule, message) = match self.kind {
            AssetKind::Database => (
                "superset.dangling-dataset-database",
                format!("database_uuid {} names no database of the package set", self.uuid),
            ),
            AssetKind::Dataset => (
                "superset.dangling-chart-dataset",
                format!("dataset_uuid {} names no dataset of the package set", self.uuid),
            ),
            AssetKind::Chart | AssetKind::Dashboard => (
                "superset.dangling-dashboard-chart",
                format!("places chart {}, which no chart in the package set has as UUID", self.uuid),
            ),
        };
        Finding::new(rule, &self.package, Some(self.file.clone()), Some(self.line), message)
    }
}

/// References between assets that the set does not resolve.
pub fn dangling_references(set: &[PackageModel]) -> Vec<Dangling> {
    let mut by_kind: BTreeMap<AssetKind, BTreeSet<&str>> = BTreeMap::new();
    for a in set.iter().flat_map(|p| &p.assets) {
        if let Some(u) = &a.asset.uuid {
            by_kind.entry(a.asset.kind).or_default().insert(u.value.trim());
        }
    }
    let exists = |kind: AssetKind, uuid: &str| by_kind.get(&kind).is_some_and(|s| s.contains(uuid));
    let mut out = Vec::new();
    for pkg in set {
        for a in &pkg.assets {
            // An empty database_uuid or dataset_uuid is superset.required-fields' to report.
            let parent = a.asset.parent_uuid.iter().filter(|p| !p.value.trim().is_empty()).map(|p| {
                let kind = if a.asset.kind == AssetKind::Dataset { AssetKind::Database } else { AssetKind::Dataset };
                (kind, p)
            });
            let charts = a.asset.chart_uuids.iter().map(|c| (AssetKind::Chart, c));
            for (kind, target) in parent.chain(charts) {
                let uuid = target.value.trim();
                if !exists(kind, uuid) {
                    out.push(Dangling {
                        package: pkg.label.clone(),
                        file: a.file.clone(),
                        line: target.line,
                        kind,
                        uuid: uuid.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// References between assets, and from datasets to dbt tables, resolve in the set.
fn superset_references(set: &[PackageModel]) -> Vec<Finding> {
    let mut out: Vec<Finding> = dangling_references(set).iter().map(Dangling::finding).collect();
    let mut tables: BTreeSet<&str> = BTreeSet::new();
    for dbt in set.iter().filter_map(|p| p.dbt.as_ref()) {
        tables.extend(dbt.resources.iter().map(Resource::relation));
        tables.extend(dbt.sources.iter().flat_map(|(_, s)| [s.identifier.as_str(), s.table.as_str()]));
    }
    for pkg in set {
        for a in &pkg.assets {
            if let Some(table) = &a.asset.table
                && !tables.contains(table.value.trim())
            {
                out.push(Finding::new(
                    "superset.dataset-table",
                    &pkg.label,
                    Some(a.file.clone()),
                    Some(table.line),
                    format!(
                        "table `{}` is not a dbt model, seed, snapshot or declared source of the package set",
                        table.value.trim()
                    ),
                ));
            }
        }
    }
    out
}

/// Does `finding` stop `superset-import`? The Superset rules do (credentials in a database
/// definition included), and so do problems reading an asset file. `superset.dataset-table` does
/// not: Superset imports a dataset whose table dbt has not built (or whose package has no dbt/
/// yet), and `verify superset` checks the tables in ClickHouse.
pub fn blocks_superset_import(finding: &Finding) -> bool {
    match finding.rule {
        "superset.dataset-table" => false,
        "files.readable" | "yaml.parse" => finding.file.as_deref().is_some_and(is_asset_file),
        rule => find_rule(rule).is_some_and(|r| r.scope == Scope::Superset),
    }
}

/// A file of `superset/assets/` in a package, or of a folder read by [`super::load::load_assets`].
fn is_asset_file(file: &Path) -> bool {
    file.starts_with(super::superset::ASSETS_DIR) || AssetKind::of_path(file).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::dbt::ResourceKind;
    use crate::packages::jinja::RefCall;
    use crate::packages::model::DbtPackage;
    use crate::packages::{manifest, superset, yaml};

    fn package(name: &str, kind: &str, models: &[(&str, Option<&str>)], refs: &[&str]) -> PackageModel {
        let text =
            format!("name: {name}\ntype: {kind}\nversion: 1.0.0\nplatform_version: \">=0.1\"\nincludes: [dbt]\n");
        let (manifest, problems) = manifest::parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        let resources = models
            .iter()
            .map(|(m, alias)| Resource {
                kind: ResourceKind::Model,
                name: m.to_string(),
                file: PathBuf::from(format!("dbt/models/{m}.sql")),
                line: 1,
                alias: alias.map(|a| (a.to_string(), PathBuf::from(format!("dbt/models/{m}.sql")), 1)),
            })
            .collect();
        let refs = refs
            .iter()
            .map(|r| (PathBuf::from("dbt/models/x.sql"), RefCall { package: None, name: r.to_string(), line: 3 }))
            .collect();
        PackageModel {
            root: PathBuf::from(name),
            label: name.to_string(),
            manifest,
            folders: [Part::Dbt].into(),
            connect: Vec::new(),
            dbt: Some(DbtPackage {
                project_file: "dbt/dbt_project.yml".into(),
                project_found: true,
                name: Some((name.replace('-', "_"), 1)),
                resources,
                refs,
                sources: Vec::new(),
            }),
            assets: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn rules_of(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings.iter().map(|f| (f.rule, f.package.as_str())).collect()
    }

    fn run(set: &[PackageModel]) -> Vec<Finding> {
        validate(set, &Version::new(0, 1, 0))
    }

    #[test]
    fn extensions_may_not_shadow_names_or_tables() {
        let core = package("core", "core", &[("mart_a", None), ("stg_a", Some("staging_a"))], &[]);
        let clean = package("ext", "extension", &[("mart_mw_a", None)], &["mart_a"]);
        assert!(run(&[core.clone(), clean]).is_empty());
        let by_name = package("ext", "extension", &[("mart_a", None)], &[]);
        assert_eq!(rules_of(&run(&[core.clone(), by_name])), [("extend.dbt-name-collision", "ext")]);
        let by_alias = package("ext", "extension", &[("mart_mw_b", Some("staging_a"))], &[]);
        assert_eq!(rules_of(&run(&[core.clone(), by_alias])), [("extend.dbt-name-collision", "ext")]);
        // Between two extensions, the later one is reported, once.
        let first = package("ext-a", "extension", &[("mart_x", None)], &[]);
        let second = package("ext-b", "extension", &[("mart_x", None)], &[]);
        assert_eq!(rules_of(&run(&[core, first, second])), [("extend.dbt-name-collision", "ext-b")]);
    }

    #[test]
    fn a_core_must_not_depend_on_an_extension() {
        let core = package("core", "core", &[("mart_a", None)], &["mart_mw_a"]);
        let ext = package("ext", "extension", &[("mart_mw_a", None)], &["mart_a"]);
        let findings = run(&[core, ext]);
        assert_eq!(rules_of(&findings), [("dbt.unresolved-ref", "core")]);
        assert!(findings[0].message.contains("the core must build without extensions"), "{}", findings[0].message);
    }

    fn asset(kind: superset::AssetKind, file: &str, text: &str) -> AssetFile {
        AssetFile { file: file.into(), asset: superset::parse_asset(kind, &yaml::parse(text).unwrap().unwrap()) }
    }

    #[test]
    fn dangling_references_name_the_kind_and_uuid_they_miss() {
        let mut ext = package("ext", "extension", &[], &[]);
        let chart = "slice_name: C\nviz_type: table\nuuid: 11111111-2222-3333-4444-555555555551\nversion: 1.0.0\ndataset_uuid: 11111111-2222-3333-4444-55555555dead\n";
        ext.assets.push(asset(superset::AssetKind::Chart, "superset/assets/charts/c.yaml", chart));
        let dangling = dangling_references(std::slice::from_ref(&ext));
        assert_eq!(dangling.len(), 1, "{dangling:?}");
        assert_eq!((dangling[0].kind, dangling[0].line), (superset::AssetKind::Dataset, 5));
        assert_eq!(dangling[0].uuid, "11111111-2222-3333-4444-55555555dead");
        let finding = dangling[0].finding();
        assert_eq!(finding.rule, "superset.dangling-chart-dataset");
        // Without a core the set can't judge references; with one, the validator reports it.
        assert!(run(std::slice::from_ref(&ext)).iter().all(|f| f.rule != finding.rule));
        let core = package("core", "core", &[], &[]);
        assert!(run(&[core, ext]).contains(&finding));
    }

    #[test]
    fn superset_import_stops_on_the_superset_rules_and_unreadable_assets_only() {
        let blocks =
            |rule, file: &str| blocks_superset_import(&Finding::new(rule, "p", Some(file.into()), None, "x".into()));
        assert!(blocks("superset.dangling-chart-dataset", "superset/assets/charts/c.yaml"));
        assert!(blocks("secrets.password-in-database", "superset/assets/databases/d.yaml"));
        assert!(blocks("yaml.parse", "superset/assets/charts/c.yaml"));
        assert!(blocks("files.readable", "charts/c.yaml"), "an asset folder read on its own");
        assert!(!blocks("superset.dataset-table", "superset/assets/datasets/db/t.yaml"));
        assert!(!blocks("yaml.parse", "dbt/models/schema.yml"));
        assert!(!blocks("secrets.password-in-connector", "connect/connector.json.tmpl"));
        assert!(!blocks("manifest.schema", "manifest.yaml"));
    }

    #[test]
    fn an_identical_database_may_be_repeated_but_not_changed() {
        let db = "database_name: D\nsqlalchemy_uri: clickhousedb://u:XXXXXXXXXX@h:8123/curated\nuuid: 11111111-2222-3333-4444-555555555555\nversion: 1.0.0\n";
        let db_asset = |text: &str| asset(superset::AssetKind::Database, "superset/assets/databases/d.yaml", text);
        let mut core = package("core", "core", &[], &[]);
        let mut ext = package("ext", "extension", &[], &[]);
        core.assets.push(db_asset(db));
        ext.assets.push(db_asset(&format!("# a comment and other formatting\n{}", db.replace(": D", ": \"D\""))));
        assert!(run(&[core.clone(), ext.clone()]).is_empty());
        ext.assets[0] = db_asset(&db.replace("curated", "raw"));
        assert_eq!(rules_of(&run(&[core, ext])), [("superset.uuid-reuse", "ext")]);
    }
}
