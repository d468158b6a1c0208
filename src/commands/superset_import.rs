//! `olmisctl superset-import`: the Superset assets of the platform, the core and the extensions
//! (or one directory), checked, bundled and imported through Superset's assets API.

use std::collections::BTreeMap;

use clap::Args;
use serde::Serialize;

use crate::checks::{Check, CheckReport};
use crate::clients::superset::Superset;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::settings::{Runtime, Secret, Settings, required};
use crate::superset::bundle::{self, ClickHouseTarget};
use crate::superset::check;
use crate::superset::sources::{self, Source};
use crate::superset::tree::{self, AssetKind, AssetTree, Finding};

#[derive(Debug, Args)]
pub struct SupersetImportArgs {
    /// One unzipped asset directory to import [default: platform, core, then extensions]
    pub path: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Imported {
    pub package: String,
    pub dir: String,
    pub databases: usize,
    pub datasets: usize,
    pub charts: usize,
    pub dashboards: usize,
    /// SHA-256 of the bundle sent: the same digest means the same content.
    pub bundle_sha256: String,
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub superset_url: String,
    pub imported: Vec<Imported>,
}

impl Report for ImportReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!("{}\n", styles.bold.apply_to(format!("Superset import into {}", self.superset_url)));
        let width = self.imported.iter().map(|i| i.package.len()).max().unwrap_or(0);
        for i in &self.imported {
            out.push_str(&format!(
                "  {} {:width$}  {} database(s), {} dataset(s), {} chart(s), {} dashboard(s)\n",
                styles.ok.apply_to("OK"),
                i.package,
                i.databases,
                i.datasets,
                i.charts,
                i.dashboards
            ));
        }
        if self.imported.is_empty() {
            out.push_str("  nothing to import: no package has superset/assets/\n");
        }
        out
    }
}

/// What an import came to: done, or refused before anything was sent (invalid assets).
pub enum Outcome {
    Imported(ImportReport),
    Refused(CheckReport),
}

pub async fn run(args: SupersetImportArgs, ctx: &Ctx) -> Result<Exit> {
    let trees = match &args.path {
        Some(path) => {
            let dir = ctx.settings.project_dir.join(path);
            if !dir.is_dir() {
                return Err(Error::file(&dir, "is not a directory")
                    .with_hint("pass a package directory or its superset/assets directory"));
            }
            read_trees(&[sources::package(&dir)])?
        }
        None => configured_trees(&ctx.settings)?,
    };
    match import(ctx, &trees).await? {
        Outcome::Imported(report) => Ok(ctx.out.report(&report)),
        Outcome::Refused(report) => Ok(ctx.out.report(&report)),
    }
}

/// The asset trees of the platform, the core and the extensions, in import order.
pub fn configured_trees(settings: &Settings) -> Result<Vec<AssetTree>> {
    read_trees(&sources::configured(settings))
}

fn read_trees(sources: &[Source]) -> Result<Vec<AssetTree>> {
    for source in sources {
        if !source.package_dir.is_dir() {
            return Err(Error::file(&source.package_dir, "does not exist").with_hint(
                "check ANALYTICS_CORE_PATH / ANALYTICS_EXTENSIONS_PATHS, or run `olmisctl packages fetch` in Git mode",
            ));
        }
    }
    Ok(sources.iter().filter(|s| s.assets_dir.is_dir()).map(|s| tree::read_tree(&s.package, &s.assets_dir)).collect())
}

/// Each tree's bundle digest, by package: what an import of these trees would send.
pub fn digests(settings: &Settings, trees: &[AssetTree]) -> Result<BTreeMap<String, String>> {
    let target = clickhouse_target(settings)?;
    trees
        .iter()
        .filter(|t| !t.assets.is_empty())
        .map(|t| {
            let bundle = bundle::build(t, &target)
                .map_err(|e| Error::file(&t.dir, format!("cannot build the import bundle: {e}")))?;
            Ok((t.package.clone(), bundle.digest))
        })
        .collect()
}

/// Checks the trees, then imports them in order. Invalid assets are refused before anything is
/// sent.
pub async fn import(ctx: &Ctx, trees: &[AssetTree]) -> Result<Outcome> {
    let settings = &ctx.settings;
    let checked = check::check(trees);
    if !checked.findings.is_empty() {
        return Ok(Outcome::Refused(refusal(checked.findings)));
    }
    announce_init(ctx);
    let mut superset = Superset::new(settings)?;
    let progress = ctx.out.progress(format!("Logging in to Superset at {}", superset.url()));
    if let Err(e) = superset.login().await {
        progress.fail("failed");
        return Err(e);
    }
    progress.finish("ok");

    // References outside the set (e.g. one extension directory on the core's datasets) must
    // already be in Superset.
    let mut missing = Vec::new();
    for unresolved in &checked.unresolved {
        if superset.find(unresolved.kind, &unresolved.uuid).await?.is_none() {
            missing.push(unresolved.finding());
        }
    }
    if !missing.is_empty() {
        return Ok(Outcome::Refused(refusal(missing)));
    }

    let target = clickhouse_target(settings)?;
    let mut imported = Vec::new();
    for tree in trees {
        if tree.assets.is_empty() {
            continue;
        }
        let bundle = bundle::build(tree, &target)
            .map_err(|e| Error::file(&tree.dir, format!("cannot build the import bundle: {e}")))?;
        let passwords = if bundle.clickhouse_databases.is_empty() {
            BTreeMap::new()
        } else {
            let password = required(&settings.clickhouse.password, "CLICKHOUSE_PASSWORD")?;
            bundle.clickhouse_databases.iter().map(|p| (p.clone(), Secret::new(password.expose()))).collect()
        };
        let count = |kind| tree.of_kind(kind).count();
        let progress = ctx.out.progress(format!("Importing {} ({} files)", tree.package, bundle.files));
        match superset.import_assets(bundle.zip, &passwords, true).await {
            Ok(()) => progress.finish("done"),
            Err(e) => {
                progress.fail("failed");
                return Err(e);
            }
        }
        imported.push(Imported {
            package: tree.package.clone(),
            dir: tree.dir.display().to_string(),
            databases: count(AssetKind::Database),
            datasets: count(AssetKind::Dataset),
            charts: count(AssetKind::Chart),
            dashboards: count(AssetKind::Dashboard),
            bundle_sha256: bundle.digest,
        });
    }
    Ok(Outcome::Imported(ImportReport { superset_url: superset.url().to_string(), imported }))
}

/// Where Superset reaches ClickHouse: SUPERSET_CLICKHOUSE_URL (default CLICKHOUSE_URL).
fn clickhouse_target(settings: &Settings) -> Result<ClickHouseTarget> {
    let url = &settings.superset.clickhouse_url;
    ClickHouseTarget::from_url(url, &settings.clickhouse.user).ok_or_else(|| Error::Config {
        var: "SUPERSET_CLICKHOUSE_URL".into(),
        value: Some(url.to_string()),
        expected: "an http(s) URL with a host, such as http://clickhouse:8123".into(),
        hint: None,
    })
}

/// The metadata work `superset init` does is not olmisctl's to repeat on every import.
fn announce_init(ctx: &Ctx) {
    match ctx.settings.runtime {
        Runtime::Compose => ctx.out.info(
            "compose mode: the superset container upgrades its metadata database, creates the admin and syncs roles at every start",
        ),
        Runtime::External => ctx.out.info(
            "external mode: Superset's migrations, admin user and roles (`superset db upgrade`, `superset fab create-admin`, `superset init`) are the operator's job",
        ),
    }
}

/// The findings as a report (exit 1): nothing was imported.
fn refusal(findings: Vec<Finding>) -> CheckReport {
    let checks = findings
        .into_iter()
        .map(|f| Check::fail(f.location(), format!("[{}] {}", f.rule, f.message)).with_hint(f.hint))
        .collect();
    CheckReport::new("Superset assets are not valid; nothing was imported", checks)
}
