//! `olmisctl superset-import`: the Superset assets of the platform, the core and the extensions
//! (or one directory), checked, bundled and imported through Superset's assets API.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;
use serde::Serialize;

use crate::checks::{Check, CheckReport};
use crate::clients::superset::Superset;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::packages::superset::AssetKind;
use crate::packages::{self, Finding, PackageKind, PackageModel, load, rules};
use crate::settings::{Runtime, Secret, Settings, required};
use crate::superset::bundle::{self, ClickHouseTarget};
use crate::superset::tree::{self, AssetTree};
use crate::superset::{AssetDir, PLATFORM, asset_dirs, platform_assets};

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

/// The packages to import, read for the validator, and their asset folders in import order.
pub struct Selection {
    models: Vec<PackageModel>,
    dirs: Vec<AssetDir>,
}

impl Selection {
    /// The asset trees, in import order.
    pub fn trees(&self) -> Vec<AssetTree> {
        self.dirs.iter().map(|d| tree::read_tree(&d.package, &d.dir)).collect()
    }
}

pub async fn run(args: SupersetImportArgs, ctx: &Ctx) -> Result<Exit> {
    let selection = match &args.path {
        Some(path) => one_directory(&ctx.settings.project_dir.join(path))?,
        None => configured(&ctx.settings)?,
    };
    match import(ctx, &selection).await? {
        Outcome::Imported(report) => Ok(ctx.out.report(&report)),
        Outcome::Refused(report) => Ok(ctx.out.report(&report)),
    }
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

/// Validates the selection, then imports its trees in order. Invalid assets are refused before
/// anything is sent.
pub async fn import(ctx: &Ctx, selection: &Selection) -> Result<Outcome> {
    let settings = &ctx.settings;
    let models = &selection.models;
    let findings = packages::validate_superset(models);
    if !findings.is_empty() {
        return Ok(Outcome::Refused(refusal(models, findings)));
    }
    let trees = selection.trees();
    // The validator has just read these files: a problem now means one changed in between.
    let changed: Vec<Finding> = trees.iter().flat_map(|t| t.findings.iter().cloned()).collect();
    if !changed.is_empty() {
        return Ok(Outcome::Refused(refusal(models, changed)));
    }
    announce_init(ctx);
    let mut superset = Superset::new(settings)?;
    let progress = ctx.out.progress(format!("Logging in to Superset at {}", superset.url()));
    if let Err(e) = superset.login().await {
        progress.fail("failed");
        return Err(e);
    }
    progress.finish("ok");

    // A set with its core resolves every reference (the validator checked them). Without it (one
    // extension's or export's directory), references outside must already be in Superset.
    let mut missing = Vec::new();
    if !models.iter().any(|m| m.kind() == Some(PackageKind::Core)) {
        for dangling in rules::dangling_references(models) {
            if superset.find(dangling.kind, &dangling.uuid).await?.is_none() {
                missing.push(dangling.finding().with_hint(format!(
                    "Superset has no {} with this UUID either: import the package that defines it first, or fix the UUID",
                    dangling.kind.as_str()
                )));
            }
        }
    }
    if !missing.is_empty() {
        return Ok(Outcome::Refused(refusal(models, missing)));
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
    Ok(Outcome::Imported(ImportReport { superset_url: superset.url().to_string(), imported }))
}

/// The configured packages and the project's platform assets.
pub fn configured(settings: &Settings) -> Result<Selection> {
    let packages = packages::resolve(settings)?;
    let platform = platform_assets(settings).map(|dir| load::load_assets(&dir, PLATFORM));
    let models = platform.into_iter().chain(packages.iter().map(|p| load::load(&p.root))).collect();
    Ok(Selection { models, dirs: asset_dirs(settings, &packages) })
}

/// The directory given on the command line: a package, or an asset folder such as an unzipped
/// export.
fn one_directory(dir: &Path) -> Result<Selection> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "is not a directory")
            .with_hint("pass a package directory or its superset/assets directory"));
    }
    let assets = tree::assets_dir_of(dir);
    let model = if assets == dir { load::load_assets(dir, &load::folder_label(dir)) } else { load::load(dir) };
    let dirs = vec![AssetDir { package: model.label.clone(), dir: assets }];
    Ok(Selection { models: vec![model], dirs })
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
fn refusal(models: &[PackageModel], findings: Vec<Finding>) -> CheckReport {
    let checks = findings
        .into_iter()
        .map(|mut f| {
            // The validator's paths are relative to the package; show where the file is.
            if let Some(model) = models.iter().find(|m| m.label == f.package) {
                f.file = f.file.map(|file| model.root.join(file));
            }
            let check = Check::fail(f.location(), format!("[{}] {}", f.rule, f.message));
            match f.fix() {
                Some(hint) => check.with_hint(hint),
                None => check,
            }
        })
        .collect();
    CheckReport::new("Superset assets are not valid; nothing was imported", checks)
}
