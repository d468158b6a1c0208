//! `olmisctl verify superset`: Superset answers, the admin can log in, every database, dataset,
//! chart and dashboard of the configured packages exists (by UUID), Superset reaches ClickHouse
//! with the password it stored, and each dataset's table exists in ClickHouse with its columns.
//! With `--render`, each dashboard is opened in headless Chromium and every chart must show data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::render::{self, Target};
use super::tree::{self, Asset, AssetTree};
use crate::checks::{Check, CheckReport};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::superset::{Object, Superset};
use crate::context::Ctx;
use crate::error::Result;
use crate::packages::superset::AssetKind;

pub async fn verify(ctx: &Ctx, render: bool, screenshots: &Path) -> Result<CheckReport> {
    let settings = &ctx.settings;
    let packages = crate::packages::resolve(settings)?;
    let title = format!("Superset at {}", settings.superset.url);
    let mut checks = Vec::new();
    let mut superset = Superset::new(settings)?;
    if let Err(e) = superset.health().await {
        checks.push(
            Check::fail("health", e.to_string()).with_hint("start Superset (`olmisctl up`) and check SUPERSET_URL"),
        );
        return Ok(CheckReport::new(title, checks));
    }
    checks.push(Check::pass("health", "GET /health answers OK"));
    if let Err(e) = superset.login().await {
        let hint = e.hint().unwrap_or("check SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD").to_string();
        checks.push(Check::fail("login", e.to_string()).with_hint(hint));
        return Ok(CheckReport::new(title, checks));
    }
    checks.push(Check::pass("login", format!("logged in as {:?}", settings.superset.admin_user)));

    let trees: Vec<AssetTree> =
        super::asset_dirs(settings, &packages).iter().map(|d| tree::read_tree(&d.package, &d.dir)).collect();
    for finding in trees.iter().flat_map(|t| &t.findings) {
        let check =
            Check::fail(format!("{} assets", finding.package), format!("{}: {}", finding.location(), finding.message));
        checks.push(match finding.fix() {
            Some(hint) => check.with_hint(hint),
            None => check,
        });
    }
    let progress = ctx.out.progress("Looking up the packages' Superset objects");
    let mut found: BTreeMap<String, Object> = BTreeMap::new();
    let in_superset = objects_by_uuid(&superset, &trees).await?;
    for tree in &trees {
        for kind in AssetKind::ALL {
            let assets: Vec<&Asset> = tree.of_kind(kind).collect();
            if assets.is_empty() {
                continue;
            }
            let mut missing = Vec::new();
            let mut renamed = Vec::new();
            for asset in &assets {
                match in_superset.get(&kind).and_then(|m| m.get(&asset.uuid)).cloned() {
                    Some(object) => {
                        if object.title != asset.title {
                            renamed.push(format!("{:?} is {:?} in Superset", asset.title, object.title));
                        }
                        found.insert(asset.uuid.clone(), object);
                    }
                    None => missing.push(format!("{:?} ({})", asset.title, asset.uuid)),
                }
            }
            let name = format!("{} {}", tree.package, kind.folder());
            let present = assets.len() - missing.len();
            checks.push(if !missing.is_empty() {
                Check::fail(name, format!("{present}/{} in Superset; missing {}", assets.len(), missing.join(", ")))
                    .with_hint("run `olmisctl superset-import`")
            } else if !renamed.is_empty() {
                Check::warn(name, format!("{present}/{} in Superset; {}", assets.len(), renamed.join(", ")))
                    .with_hint("a UI edit not exported yet: `olmisctl superset-export`, or re-import to restore")
            } else {
                Check::pass(name, format!("{present}/{} in Superset", assets.len()))
            });
        }
        let drafts: Vec<String> = tree
            .of_kind(AssetKind::Dashboard)
            .filter(|a| found.get(&a.uuid).is_some_and(|o| o.published == Some(false)))
            .map(|a| format!("{:?}", a.title))
            .collect();
        if !drafts.is_empty() {
            checks.push(
                Check::warn(format!("{} published", tree.package), format!("draft dashboards: {}", drafts.join(", ")))
                    .with_hint("set `published: true` in the dashboard YAML and re-import"),
            );
        }
    }
    progress.finish("done");

    let databases: BTreeSet<&str> =
        trees.iter().flat_map(|t| t.of_kind(AssetKind::Database)).map(|a| a.uuid.as_str()).collect();
    for uuid in databases {
        let Some(object) = found.get(uuid) else { continue };
        let name = format!("connection {}", object.title);
        checks.push(match superset.test_stored_connection(object.id).await? {
            Ok(()) => Check::pass(name, "Superset connects with its stored address and password"),
            Err(reason) => {
                Check::fail(name, format!("Superset cannot connect: {reason}")).with_hint(connection_hint(&reason))
            }
        });
    }

    checks.extend(table_checks(ctx, &trees).await);

    if render {
        checks.extend(render_checks(ctx, &trees, &found, screenshots).await);
    }
    Ok(CheckReport::new(title, checks))
}

/// Superset's objects of every kind the trees have, by kind and UUID.
pub async fn objects_by_uuid(
    superset: &Superset,
    trees: &[AssetTree],
) -> Result<BTreeMap<AssetKind, BTreeMap<String, Object>>> {
    let mut in_superset = BTreeMap::new();
    for kind in AssetKind::ALL {
        if trees.iter().any(|t| t.of_kind(kind).next().is_some()) {
            let all = superset.all(kind).await?;
            in_superset.insert(kind, all.into_iter().map(|o| (o.uuid.clone(), o)).collect());
        }
    }
    Ok(in_superset)
}

fn connection_hint(reason: &str) -> &'static str {
    if reason.contains("does not exist") {
        "build the marts first (`olmisctl dbt-build`)"
    } else if reason.contains("Authentication") || reason.contains("password") {
        "re-run `olmisctl superset-import`: it stores CLICKHOUSE_PASSWORD"
    } else {
        "check SUPERSET_CLICKHOUSE_URL: the address must be the one Superset (not olmisctl) reaches ClickHouse at, then re-import"
    }
}

#[derive(Deserialize)]
struct TableRow {
    database: String,
    table: String,
    /// Float: JSON output quotes 64-bit integers.
    rows: Option<f64>,
    columns: Vec<String>,
}

/// SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The ClickHouse database a dataset reads: its `schema`, else its database URI's path.
fn dataset_database(dataset: &Asset, trees: &[AssetTree]) -> String {
    dataset.schema.clone().unwrap_or_else(|| {
        let uri = trees
            .iter()
            .flat_map(|t| t.of_kind(AssetKind::Database))
            .find(|d| dataset.references.contains(&d.uuid))
            .and_then(|d| super::yaml::parse(&d.text).ok().and_then(|doc| super::yaml::text(&doc, "sqlalchemy_uri")));
        uri.and_then(|u| url::Url::parse(&u).ok())
            .map(|u| u.path().trim_start_matches('/').to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".to_string())
    })
}

async fn table_checks(ctx: &Ctx, trees: &[AssetTree]) -> Vec<Check> {
    let datasets: Vec<(String, &Asset)> = trees
        .iter()
        .flat_map(|t| t.of_kind(AssetKind::Dataset))
        .filter(|d| !d.is_virtual)
        .map(|d| (dataset_database(d, trees), d))
        .collect();
    if datasets.is_empty() {
        return Vec::new();
    }
    let clickhouse = match ClickHouse::new(&ctx.settings) {
        Ok(c) => c,
        Err(e) => return vec![Check::fail("clickhouse tables", e.to_string())],
    };
    let pairs: Vec<String> =
        datasets.iter().map(|(db, d)| format!("({}, {})", literal(db), literal(&d.title))).collect();
    let sql = format!(
        "SELECT t.database AS database, t.name AS table, toFloat64(t.total_rows) AS rows, \
         (SELECT groupArray(name) FROM system.columns c WHERE c.database = t.database AND c.table = t.name) AS columns \
         FROM system.tables t WHERE (t.database, t.name) IN ({})",
        pairs.join(", ")
    );
    let rows: Vec<TableRow> = match clickhouse.rows(&sql).await {
        Ok(rows) => rows,
        Err(e) => return vec![Check::fail("clickhouse tables", e.to_string())],
    };
    datasets
        .iter()
        .map(|(db, dataset)| {
            let name = format!("table {db}.{}", dataset.title);
            match rows.iter().find(|r| &r.database == db && r.table == dataset.title) {
                None => Check::fail(name, format!("missing in ClickHouse (dataset of {})", dataset.package))
                    .with_hint("build the marts (`olmisctl dbt-build`), or fix the dataset's table_name/schema"),
                Some(row) => {
                    let missing: Vec<&str> =
                        dataset.columns.iter().filter(|c| !row.columns.contains(c)).map(String::as_str).collect();
                    if !missing.is_empty() {
                        Check::fail(
                            name,
                            format!("the dataset's column(s) {} are not in the table", missing.join(", ")),
                        )
                        .with_hint("align the dataset YAML with the dbt model (charts on these columns fail)")
                    } else if row.rows == Some(0.0) {
                        Check::warn(name, "exists but has no rows yet")
                            .with_hint("run `olmisctl dbt-build` after data arrived")
                    } else {
                        let rows = row.rows.map(|r| format!("{} rows, ", r as u64)).unwrap_or_default();
                        Check::pass(name, format!("{rows}{} columns", row.columns.len()))
                    }
                }
            }
        })
        .collect()
}

async fn render_checks(
    ctx: &Ctx,
    trees: &[AssetTree],
    found: &BTreeMap<String, Object>,
    screenshots: &Path,
) -> Vec<Check> {
    let targets: Vec<Target> = trees
        .iter()
        .flat_map(|t| t.of_kind(AssetKind::Dashboard))
        .filter_map(|d| {
            found.get(&d.uuid).map(|o| Target {
                title: d.title.clone(),
                id: o.id,
                expected_charts: d.references.len(),
                file_stem: super::export::file_stem(d.slug.as_deref().unwrap_or(&d.title)),
            })
        })
        .collect();
    if targets.is_empty() {
        return vec![
            Check::fail("render", "no imported dashboard to open").with_hint("run `olmisctl superset-import`"),
        ];
    }
    let progress = ctx.out.progress(format!("Rendering {} dashboard(s) in headless Chromium", targets.len()));
    match render::render(&ctx.settings, &targets, screenshots).await {
        Err(e) => {
            progress.fail("failed");
            let check = Check::fail("render", e.to_string());
            vec![match e.hint() {
                Some(hint) => check.with_hint(hint),
                None => check,
            }]
        }
        Ok(rendered) => {
            progress.finish("done");
            rendered
                .iter()
                .map(|r| {
                    let name = format!("render {}", r.title);
                    let problems = r.problems();
                    if problems.is_empty() {
                        Check::pass(name, format!("{} charts show data; {}", r.charts.len(), r.screenshot.display()))
                    } else {
                        Check::fail(name, format!("{}; {}", problems.join("; "), r.screenshot.display())).with_hint(
                            "open the dashboard in Superset to see the chart; empty marts need `olmisctl dbt-build`",
                        )
                    }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(literal("it's"), "'it\\'s'");
    }
}
