//! superset-import, superset-export and verify superset against the stack's real Superset (and
//! ClickHouse, and a headless Chromium for the render check).
//!
//! Tests share one Superset, so each works on its own copy of the example packages with fresh
//! UUIDs, its own database name and slugs, and its own ClickHouse database (see `Copy`). One test
//! imports the examples as shipped. Ground truth comes from Superset's API over curl, not from the
//! code under test.
//!
//! The tests run one at a time (`one_at_a_time`): two asset imports running at once in one Superset
//! were seen to leave a chart with another chart's title (about one suite run in four on the test
//! stack's Superset), even though the imports touch disjoint UUIDs. That is Superset's own import, not
//! olmisctl's, so the tests keep out of each other's way instead of asserting on a race.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use serde_json::Value;

/// Held for the whole of each test: see the module comment.
static SUPERSET: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SUPERSET.lock().unwrap_or_else(|e| e.into_inner())
}

const CORE: &str = "olmis-analytics-core";
const MALAWI: &str = "olmis-analytics-malawi";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Superset's API as the admin, over curl.
struct Probe {
    token: String,
}

impl Probe {
    fn login() -> Probe {
        let body = serde_json::json!({
            "username": stack().get("SUPERSET_ADMIN_USER"), "password": stack().get("SUPERSET_ADMIN_PASSWORD"),
            "provider": "db", "refresh": false,
        });
        let out = curl(&["-H", "Content-Type: application/json", "-d", &body.to_string()], "api/v1/security/login");
        Probe { token: out["access_token"].as_str().expect("login token").to_string() }
    }

    fn get(&self, path: &str) -> Value {
        curl(&["-H", &format!("Authorization: Bearer {}", self.token)], path)
    }

    /// Objects of `resource` whose `col` equals `value`: (id, title) pairs.
    fn find(&self, resource: &str, col: &str, value: &str) -> Vec<(i64, String)> {
        let title = match resource {
            "database" => "database_name",
            "dataset" => "table_name",
            "chart" => "slice_name",
            _ => "dashboard_title",
        };
        let q = format!("(columns:!(id,{title}),filters:!((col:{col},opr:eq,value:'{value}')),page_size:100)");
        let body = self.get(&format!("api/v1/{resource}/?q={}", urlencode(&q)));
        body["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result listing {resource}: {body}"))
            .iter()
            .map(|o| (o["id"].as_i64().unwrap(), o[title].as_str().unwrap_or_default().to_string()))
            .collect()
    }

    fn count(&self, resource: &str, filter: &str) -> u64 {
        let q = format!("(columns:!(id),filters:!({filter}),page_size:100)");
        self.get(&format!("api/v1/{resource}/?q={}", urlencode(&q)))["count"].as_u64().unwrap()
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn curl(args: &[&str], path: &str) -> Value {
    let url = format!("{}/{path}", stack().get("SUPERSET_URL").trim_end_matches('/'));
    let out = StdCommand::new("curl").args(["-sS", "-m", "60"]).args(args).arg(&url).output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{url} did not answer JSON: {}", &text[..text.len().min(300)]))
}

/// Every asset of a package: (kind folder, uuid, title, parsed document).
fn assets(package: &Path) -> Vec<(String, String, String, saphyr::YamlOwned)> {
    use saphyr::LoadableYamlNode;
    let mut found = Vec::new();
    let root = package.join("superset/assets");
    let mut stack_dirs = vec![root.clone()];
    while let Some(dir) = stack_dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack_dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let kind = path
                    .strip_prefix(&root)
                    .unwrap()
                    .components()
                    .next()
                    .unwrap()
                    .as_os_str()
                    .to_string_lossy()
                    .into_owned();
                let doc = saphyr::YamlOwned::load_from_str(&std::fs::read_to_string(&path).unwrap()).unwrap().remove(0);
                let title_key = match kind.as_str() {
                    "databases" => "database_name",
                    "datasets" => "table_name",
                    "charts" => "slice_name",
                    _ => "dashboard_title",
                };
                let text = |k: &str| doc.as_mapping_get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                found.push((kind, text("uuid"), text(title_key), doc.clone()));
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

fn resource(kind: &str) -> &'static str {
    match kind {
        "databases" => "database",
        "datasets" => "dataset",
        "charts" => "chart",
        _ => "dashboard",
    }
}

/// A private copy of the example packages: new UUIDs, database name and slugs tagged, datasets and
/// the database URI pointing at the test's own ClickHouse database.
struct Copy {
    _dir: tempfile::TempDir,
    root: PathBuf,
    tag: String,
    ch_db: String,
}

impl Copy {
    fn new(prefix: &str) -> Copy {
        let tag = unique(prefix).to_lowercase();
        let ch_db = format!("t_{tag}");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for package in [CORE, MALAWI] {
            // The package as shipped (manifest, connector template), then its assets rewritten.
            let (from, to) = (repo().join("examples").join(package), root.join(package));
            copy_tree(&from, &to, &str::to_string);
            copy_tree(&from.join("superset"), &to.join("superset"), &|text| rewrite(text, &tag, &ch_db));
        }
        Copy { _dir: dir, root, tag, ch_db }
    }

    fn package(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// olmisctl configured with this copy's core and Malawi packages.
    fn olmisctl(&self) -> Command {
        let mut cmd = stack().olmisctl(&self.root);
        cmd.env("ANALYTICS_CORE_PATH", self.package(CORE)).env("ANALYTICS_EXTENSIONS_PATHS", self.package(MALAWI));
        cmd
    }

    /// The copy's ClickHouse database with every dataset's table, columns as the YAML types them,
    /// and rows (the marts' shape, made-up values).
    fn create_tables(&self) {
        stack().clickhouse(&format!("CREATE DATABASE IF NOT EXISTS {}", self.ch_db));
        for package in [CORE, MALAWI] {
            for (kind, _, table, doc) in assets(&self.package(package)) {
                if kind != "datasets" {
                    continue;
                }
                let columns: Vec<(String, String)> = doc
                    .as_mapping_get("columns")
                    .and_then(|c| c.as_sequence())
                    .unwrap()
                    .iter()
                    .map(|c| {
                        let get =
                            |k: &str| c.as_mapping_get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                        (get("column_name"), if get("type").is_empty() { "String".into() } else { get("type") })
                    })
                    .collect();
                let defs: Vec<String> = columns.iter().map(|(n, t)| format!("`{n}` {t}")).collect();
                let values: Vec<String> = columns.iter().map(|(_, t)| value_for(t)).collect();
                stack().clickhouse(&format!(
                    "CREATE TABLE {}.{table} ({}) ENGINE = MergeTree ORDER BY tuple()",
                    self.ch_db,
                    defs.join(", ")
                ));
                stack().clickhouse(&format!(
                    "INSERT INTO {}.{table} SELECT {} FROM numbers(24)",
                    self.ch_db,
                    values.join(", ")
                ));
            }
        }
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = StdCommand::new("curl")
            .args(["-sS", "--data-binary", &format!("DROP DATABASE IF EXISTS {}", self.ch_db)])
            .arg("-H")
            .arg(format!("X-ClickHouse-User: {}", stack().get("CLICKHOUSE_USER")))
            .arg("-H")
            .arg(format!("X-ClickHouse-Key: {}", stack().get("CLICKHOUSE_PASSWORD")))
            .arg(stack().get("CLICKHOUSE_URL"))
            .output();
    }
}

/// A value expression of ClickHouse type `ty` for row `number` (varied so charts have groups).
fn value_for(ty: &str) -> String {
    if ty.contains("UUID") {
        "generateUUIDv4(number)".into()
    } else if ty.contains("Date") {
        "today() - number * 30".into()
    } else if ty.contains("Bool") {
        "number % 2 = 0".into()
    } else if ty.contains("String") {
        "concat('value ', toString(number % 4))".into()
    } else {
        "number + 1".into()
    }
}

fn copy_tree(from: &Path, to: &Path, edit: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target, edit);
        } else {
            std::fs::write(&target, edit(&std::fs::read_to_string(&path).unwrap())).unwrap();
        }
    }
}

/// Each UUID replaced by one derived from the tag (the same everywhere it appears).
fn rewrite(text: &str, tag: &str, ch_db: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if is_uuid(token) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (tag, token.as_str()).hash(&mut h);
            out.push_str(&format!("{}-{:012x}", &token[..23], h.finish() & 0xffff_ffff_ffff));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() || c == '-' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out.replace("database_name: OLMIS ClickHouse", &format!("database_name: OLMIS ClickHouse {tag}"))
        .replace("schema: curated", &format!("schema: {ch_db}"))
        .replace(":8123/curated", &format!(":8123/{ch_db}"))
        .lines()
        .map(|l| {
            if let Some(slug) = l.strip_prefix("slug: ") {
                format!("slug: {slug}-{tag}")
            } else if let Some(table) = l.strip_prefix("table_name: ") {
                // The test stack's SQLite metadata keeps an old UNIQUE(table_name) constraint:
                // two datasets can't share a table name even in different databases.
                format!("table_name: {table}_{tag}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n)
}

/// Every asset of `package` is in Superset under its UUID with its title; returns uuid -> id.
fn assert_imported(probe: &Probe, package: &Path) -> BTreeMap<String, i64> {
    let mut ids = BTreeMap::new();
    for (kind, uuid, title, _) in assets(package) {
        let found = probe.find(resource(&kind), "uuid", &uuid);
        assert_eq!(found.len(), 1, "{kind} {title:?} ({uuid}) should be in Superset once: {found:?}");
        assert_eq!(found[0].1, title, "{kind} {uuid} has the wrong title");
        ids.insert(uuid, found[0].0);
    }
    ids
}

#[test]
fn imports_the_examples_core_then_malawi_and_reimport_changes_nothing() {
    let _serial = one_at_a_time();
    let project = tempfile::tempdir().unwrap();
    let run = || {
        let out = stack()
            .olmisctl(project.path())
            .env("ANALYTICS_CORE_PATH", repo().join("examples").join(CORE))
            .env("ANALYTICS_EXTENSIONS_PATHS", repo().join("examples").join(MALAWI))
            .args(["--json", "superset-import"])
            .output()
            .unwrap();
        assert!(out.status.success(), "import failed: {}{}", stdout(&out), stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let packages: Vec<&str> =
            report["imported"].as_array().unwrap().iter().map(|i| i["package"].as_str().unwrap()).collect();
        assert_eq!(packages, vec![CORE, MALAWI], "import order");
        report
    };
    let first = run();
    let probe = Probe::login();
    let core = assert_imported(&probe, &repo().join("examples").join(CORE));
    let malawi = assert_imported(&probe, &repo().join("examples").join(MALAWI));
    let dashboards = assets(&repo().join("examples").join(CORE)).iter().filter(|a| a.0 == "dashboards").count();
    assert!(dashboards >= 3, "the core ships at least three dashboards");
    assert!(malawi.len() >= 4, "Malawi: database, dataset, charts, dashboard");

    let second = run();
    assert_eq!(first["imported"][0]["bundle_sha256"], second["imported"][0]["bundle_sha256"], "same tree, same bundle");
    assert_eq!(assert_imported(&probe, &repo().join("examples").join(CORE)), core, "re-import keeps the same objects");
    assert_eq!(assert_imported(&probe, &repo().join("examples").join(MALAWI)), malawi);
    let db_uuid = assets(&repo().join("examples").join(CORE)).into_iter().find(|a| a.0 == "databases").unwrap().1;
    let db_id = core[&db_uuid];
    let datasets = assets(&repo().join("examples").join(CORE)).iter().filter(|a| a.0 == "datasets").count()
        + assets(&repo().join("examples").join(MALAWI)).iter().filter(|a| a.0 == "datasets").count();
    assert_eq!(
        probe.count("dataset", &format!("(col:database,opr:rel_o_m,value:{db_id})")),
        datasets as u64,
        "no duplicate datasets"
    );
    for (kind, uuid, _, doc) in assets(&repo().join("examples").join(CORE)) {
        if kind == "datasets" {
            let charts = assets(&repo().join("examples").join(CORE))
                .iter()
                .filter(|a| {
                    a.0 == "charts"
                        && a.3.as_mapping_get("dataset_uuid").and_then(|v| v.as_str()) == Some(uuid.as_str())
                })
                .count();
            let id = core[&uuid];
            assert_eq!(
                probe.count("chart", &format!("(col:datasource_id,opr:eq,value:{id})")),
                charts as u64,
                "no duplicate charts of {doc:?}"
            );
        }
        if kind == "dashboards" {
            let slug = doc.as_mapping_get("slug").and_then(|v| v.as_str()).unwrap();
            assert_eq!(probe.find("dashboard", "slug", slug).len(), 1);
        }
    }
}

#[test]
fn the_database_password_comes_from_the_environment_and_leaks_nowhere() {
    let _serial = one_at_a_time();
    let copy = Copy::new("ss_pw");
    stack().clickhouse(&format!("CREATE DATABASE IF NOT EXISTS {}", copy.ch_db));
    let out = copy.olmisctl().arg("superset-import").output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let password = stack().get("CLICKHOUSE_PASSWORD");
    let probe = Probe::login();
    let db_uuid = assets(&copy.package(CORE)).into_iter().find(|a| a.0 == "databases").unwrap().1;
    let db_id = probe.find("database", "uuid", &db_uuid)[0].0;
    // Listing schemas makes Superset connect to ClickHouse with what it stored: ClickHouse
    // accepts only the right password.
    let schemas = probe.get(&format!("api/v1/database/{db_id}/schemas/?q=(force:!t)"));
    let names: Vec<&str> =
        schemas["result"].as_array().unwrap_or_else(|| panic!("{schemas}")).iter().filter_map(Value::as_str).collect();
    assert!(names.contains(&copy.ch_db.as_str()), "Superset connected with the stored password: {schemas}");
    let uri = probe.get(&format!("api/v1/database/{db_id}/connection"))["result"]["sqlalchemy_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        uri,
        format!("clickhousedb://olmis:XXXXXXXXXX@127.0.0.1:28123/{}", copy.ch_db),
        "address as Superset sees it"
    );

    // Nowhere: the command's output, Git, Superset's log, an export.
    assert!(!stdout(&out).contains(password) && !stderr(&out).contains(password));
    let tracked = StdCommand::new("git").args(["grep", "-l", "-F", password]).current_dir(repo()).output().unwrap();
    assert!(tracked.stdout.is_empty(), "the password is in Git: {}", stdout(&tracked));
    let log = Path::new(stack().get("OLMIS_STACK_RUN")).join("superset/superset.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(!log.contains(password), "the password is in Superset's log");
    let pkg = tempfile::tempdir().unwrap();
    let slug = format!("olmis-stock-overview-{}", copy.tag);
    let out = copy.olmisctl().args(["superset-export", "--dashboard", &slug, "--to"]).arg(pkg.path()).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(!stdout(&out).contains(password) && !stderr(&out).contains(password));
}

#[test]
fn export_then_import_round_trips() {
    let _serial = one_at_a_time();
    let copy = Copy::new("ss_rt");
    let out = copy.olmisctl().arg("superset-import").output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let probe = Probe::login();
    let before = assert_imported(&probe, &copy.package(CORE));

    // Into the package it came from: every file is byte-identical.
    let slug = format!("olmis-stock-overview-{}", copy.tag);
    let out = copy
        .olmisctl()
        .args(["--json", "superset-export", "--dashboard", &slug, "--to"])
        .arg(copy.package(CORE))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let changes: Vec<&str> =
        report["files"].as_array().unwrap().iter().map(|f| f["change"].as_str().unwrap()).collect();
    assert!(changes.len() >= 6 && changes.iter().all(|c| *c == "unchanged"), "{report}");

    // Into a new package: stable names, no ids, password masked; importing it gives the same objects.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(
        fresh.path().join("manifest.yaml"),
        "name: fresh-core\ntype: core\nversion: 0.1.0\nplatform_version: \">=0.1.0\"\nincludes: [superset]\n",
    )
    .unwrap();
    let export = |dir: &Path| {
        let out = copy
            .olmisctl()
            .env("ANALYTICS_CORE_PATH", dir)
            .env("ANALYTICS_EXTENSIONS_PATHS", "")
            .args(["superset-export", "--dashboard", &slug, "--to"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    };
    export(fresh.path());
    let exported = assets(fresh.path());
    let kinds: Vec<&str> = exported.iter().map(|a| a.0.as_str()).collect();
    assert!(
        kinds.contains(&"databases")
            && kinds.contains(&"datasets")
            && kinds.contains(&"charts")
            && kinds.contains(&"dashboards")
    );
    let assets_dir = fresh.path().join("superset/assets");
    assert!(assets_dir.join("dashboards/stock_overview.yaml").is_file());
    for (kind, uuid, title, _) in &exported {
        assert!(before.contains_key(uuid), "{kind} {title} exported with its UUID");
    }
    let all_text: String = walk_text(&assets_dir);
    assert!(all_text.contains("XXXXXXXXXX") && !all_text.contains(stack().get("CLICKHOUSE_PASSWORD")));
    assert!(!all_text.contains("__table") && !all_text.contains("slice_id"), "instance ids stripped");
    let out = copy
        .olmisctl()
        .env("ANALYTICS_CORE_PATH", fresh.path())
        .env("ANALYTICS_EXTENSIONS_PATHS", "")
        .arg("superset-import")
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let after = assert_imported(&probe, fresh.path());
    for (uuid, id) in &after {
        assert_eq!(before.get(uuid), Some(id), "the round trip keeps object {uuid}");
    }
    let first = walk_text(&assets_dir);
    export(fresh.path());
    assert_eq!(walk_text(&assets_dir), first, "a second export writes the same files");
}

fn walk_text(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { dirs.push(p) } else { files.push(p) }
        }
    }
    files.sort();
    files.iter().map(|p| format!("== {}\n{}", p.display(), std::fs::read_to_string(p).unwrap())).collect()
}

#[test]
fn broken_bundles_fail_clearly_and_import_nothing() {
    let _serial = one_at_a_time();
    let probe = Probe::login();
    // A chart pointing at a dataset nobody defines.
    let copy = Copy::new("ss_ref");
    let chart = copy.package(MALAWI).join("superset/assets/charts/malawi_stock_status_by_region.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    let dataset_uuid = text.lines().find_map(|l| l.strip_prefix("dataset_uuid: ")).unwrap().to_string();
    std::fs::write(&chart, text.replace(&dataset_uuid, "00000000-0000-4000-8000-00000000dead")).unwrap();
    let out = copy.olmisctl().arg("superset-import").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("superset.dangling-chart-dataset") && text.contains("malawi_stock_status_by_region.yaml"),
        "{text}"
    );
    assert!(text.contains("00000000-0000-4000-8000-00000000dead") && text.contains("nothing was imported"), "{text}");
    for (kind, uuid, title, _) in assets(&copy.package(CORE)).into_iter().chain(assets(&copy.package(MALAWI))) {
        assert!(probe.find(resource(&kind), "uuid", &uuid).is_empty(), "{kind} {title} was imported");
    }

    // A YAML syntax error.
    let copy = Copy::new("ss_yaml");
    let dashboard = copy.package(CORE).join("superset/assets/dashboards/olmis_stock_overview.yaml");
    let text = std::fs::read_to_string(&dashboard).unwrap();
    std::fs::write(&dashboard, text.replacen("position:\n", "position: [unclosed\n", 1)).unwrap();
    let out = copy.olmisctl().args(["--json", "superset-import"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    let failed: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["level"] == "fail").collect();
    assert_eq!(failed.len(), 1, "{report}");
    let name = failed[0]["name"].as_str().unwrap();
    assert!(name.contains("olmis_stock_overview.yaml:"), "file and line: {name}");
    assert!(failed[0]["message"].as_str().unwrap().contains("[yaml.parse]"), "{report}");
    for (kind, uuid, title, _) in assets(&copy.package(MALAWI)) {
        assert!(probe.find(resource(&kind), "uuid", &uuid).is_empty(), "{kind} {title} was imported");
    }
}

#[test]
fn a_wrong_admin_password_is_an_authentication_error() {
    let _serial = one_at_a_time();
    let copy = Copy::new("ss_auth");
    let out =
        copy.olmisctl().env("SUPERSET_ADMIN_PASSWORD", "not-the-password-123").arg("superset-import").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("superset: authentication failed for user \"admin\""), "{err}");
    assert!(err.contains("SUPERSET_ADMIN_PASSWORD"), "the hint names the variable: {err}");
    assert!(!err.contains("not-the-password-123"), "{err}");
}

#[test]
fn verify_finds_everything_and_every_chart_renders_data_in_chromium() {
    let _serial = one_at_a_time();
    let copy = Copy::new("ss_render");
    copy.create_tables();
    let out = copy.olmisctl().arg("superset-import").output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let shots = repo().join("target/test-artifacts/superset");
    let out = copy
        .olmisctl()
        .args(["--json", "verify", "superset", "--render", "--screenshots"])
        .arg(&shots)
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|_| panic!("{}{}", stdout(&out), stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for wanted in ["health", "login", "olmis-analytics-core dashboards", "olmis-analytics-malawi datasets"] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("connection ")), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("table ")).count(), 9, "{names:?}");
    let renders: Vec<&Value> = checks.iter().filter(|c| c["name"].as_str().unwrap().starts_with("render ")).collect();
    assert_eq!(renders.len(), 4, "one per dashboard: {report:#}");
    for r in renders {
        assert_eq!(r["level"], "pass", "{r}");
    }
    for (kind, _, _, doc) in assets(&copy.package(CORE)).into_iter().chain(assets(&copy.package(MALAWI))) {
        if kind == "dashboards" {
            let slug = doc.as_mapping_get("slug").and_then(|v| v.as_str()).unwrap().replace('-', "_");
            let png = std::fs::read(shots.join(format!("{slug}.png"))).unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot of {slug}");
        }
    }

    // With the marts gone, verify fails and says which tables.
    let table = format!("{}.mart_stockouts_{}", copy.ch_db, copy.tag);
    stack().clickhouse(&format!("DROP TABLE {table}"));
    let out = copy.olmisctl().args(["verify", "superset", "--render", "--screenshots"]).arg(&shots).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("FAIL table {table}")), "{text}");
    let render = text.lines().find(|l| l.contains("render Stock overview")).unwrap_or_else(|| panic!("{text}"));
    assert!(
        render.contains("FAIL") && render.contains("\"Stockout days by region\"") && render.contains("mart_stockouts"),
        "{render}"
    );
    assert!(text.contains("PASS render Consumption and reporting"), "{text}");
}
