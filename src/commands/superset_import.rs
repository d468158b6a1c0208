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
struct Imported {
    package: String,
    dir: String,
    databases: usize,
    datasets: usize,
    charts: usize,
    dashboards: usize,
    /// SHA-256 of the bundle sent: the same digest means the same content.
    bundle_sha256: String,
}

#[derive(Debug, Serialize)]
struct ImportReport {
    superset_url: String,
    imported: Vec<Imported>,
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

pub async fn run(args: SupersetImportArgs, ctx: &Ctx) -> Result<Exit> {
    let settings = &ctx.settings;
    let sources = match &args.path {
        Some(path) => {
            let dir = settings.project_dir.join(path);
            if !dir.is_dir() {
                return Err(Error::file(&dir, "is not a directory")
                    .with_hint("pass a package directory or its superset/assets directory"));
            }
            vec![sources::package(&dir)]
        }
        None => sources::configured(settings),
    };
    for source in &sources {
        if !source.package_dir.is_dir() {
            return Err(Error::file(&source.package_dir, "does not exist").with_hint(
                "check ANALYTICS_CORE_PATH / ANALYTICS_EXTENSIONS_PATHS, or run `olmisctl packages fetch` in Git mode",
            ));
        }
    }
    let trees: Vec<AssetTree> = sources
        .iter()
        .filter(|s| s.assets_dir.is_dir())
        .map(|s: &Source| tree::read_tree(&s.package, &s.assets_dir))
        .collect();

    let checked = check::check(&trees);
    if !checked.findings.is_empty() {
        return refuse(ctx, checked.findings);
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
        return refuse(ctx, missing);
    }

    let target = clickhouse_target(settings)?;
    let mut imported = Vec::new();
    for tree in &trees {
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
    Ok(ctx.out.report(&ImportReport { superset_url: superset.url().to_string(), imported }))
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

/// Prints the findings (exit 1) and stops before anything is imported.
fn refuse(ctx: &Ctx, findings: Vec<Finding>) -> Result<Exit> {
    let checks = findings
        .into_iter()
        .map(|f| Check::fail(f.location(), format!("[{}] {}", f.rule, f.message)).with_hint(f.hint))
        .collect();
    Ok(ctx.out.report(&CheckReport::new("Superset assets are not valid; nothing was imported", checks)))
}
