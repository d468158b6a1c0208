//! `olmisctl packages fetch|validate`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::packages::{self, Origin, PackageKind, fetch};

#[derive(Debug, Args)]
pub struct PackagesArgs {
    #[command(subcommand)]
    pub action: PackagesAction,
}

#[derive(Debug, Subcommand)]
pub enum PackagesAction {
    /// Clone or update the Git packages at their pinned refs into .packages/
    Fetch,
    /// Check packages for every way they can break or shadow each other
    #[command(
        after_help = "Exit codes: 0 valid, 1 violations found, 2 usage error (e.g. a path that is not a folder).\n\
        Without PATHs, validates the configured core and extensions. When the PATHs hold no core package,\n\
        the configured core (if present) joins the set, since extensions are checked against it."
    )]
    Validate {
        /// Package directories [default: the configured core and extensions]
        paths: Vec<PathBuf>,
    },
}

pub async fn run(args: PackagesArgs, ctx: &Ctx) -> Result<Exit> {
    match args.action {
        PackagesAction::Fetch => run_fetch(ctx).await,
        PackagesAction::Validate { paths } => {
            let roots = roots_to_validate(paths, ctx)?;
            let report = tokio::task::spawn_blocking(move || packages::validate(&roots))
                .await
                .map_err(|e| Error::usage(format!("the validator stopped unexpectedly: {e}")))?;
            Ok(ctx.out.report(&report))
        }
    }
}

fn roots_to_validate(paths: Vec<PathBuf>, ctx: &Ctx) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        return packages::configured_roots(&ctx.settings);
    }
    for path in &paths {
        if !path.is_dir() {
            return Err(Error::file(path, "is not a package folder (no such directory)")
                .with_hint("pass the folders that hold each package's manifest.yaml"));
        }
    }
    let mut roots = paths;
    if !roots.iter().any(|r| packages::is_core(r)) {
        // An extension is only meaningful against its core: bring in the configured one.
        let core = packages::locate(&ctx.settings).ok().and_then(|l| l.into_iter().next()).map(|l| l.root);
        if let Some(core) = core.filter(|c| packages::is_core(c)) {
            ctx.out.info(format!("checking against the configured core at {}", core.display()));
            roots.insert(0, core);
        }
    }
    Ok(roots)
}

#[derive(Debug, Serialize)]
struct Fetched {
    role: PackageKind,
    /// The manifest's name, when the checkout has a readable one.
    name: Option<String>,
    url: String,
    reference: Option<String>,
    dir: PathBuf,
    #[serde(flatten)]
    checkout: fetch::Checkout,
}

#[derive(Debug, Serialize)]
struct FetchReport {
    packages: Vec<Fetched>,
}

impl Report for FetchReport {
    fn human(&self, styles: &Styles) -> String {
        if self.packages.is_empty() {
            return "Nothing to fetch: no Git packages are configured (ANALYTICS_CORE_GIT_URL, \
                    ANALYTICS_EXTENSION_GIT_URLS); local packages are used as they are.\n"
                .to_string();
        }
        let mut out = String::new();
        for p in &self.packages {
            let action = match p.checkout.action {
                fetch::Action::Cloned => styles.ok.apply_to("cloned"),
                fetch::Action::Updated => styles.ok.apply_to("updated"),
                fetch::Action::Unchanged => styles.dim.apply_to("unchanged"),
            };
            out.push_str(&format!(
                "{:9} {}  {} ({})  {action} in {}\n",
                p.role.as_str(),
                styles.bold.apply_to(p.name.as_deref().unwrap_or("(no manifest)")),
                p.checkout.resolved,
                &p.checkout.commit[..12.min(p.checkout.commit.len())],
                p.dir.display()
            ));
        }
        out
    }
}

async fn run_fetch(ctx: &Ctx) -> Result<Exit> {
    let settings = &ctx.settings;
    let locations: Vec<packages::Location> =
        packages::locate(settings)?.into_iter().filter(|l| matches!(l.origin, Origin::Git { .. })).collect();
    let mut fetched = Vec::new();
    for (i, loc) in locations.iter().enumerate() {
        let Origin::Git { url, reference } = &loc.origin else { continue };
        let (url_var, ref_var) = match loc.role {
            PackageKind::Core => ("ANALYTICS_CORE_GIT_URL", "ANALYTICS_CORE_GIT_REF"),
            PackageKind::Extension => ("ANALYTICS_EXTENSION_GIT_URLS", "ANALYTICS_EXTENSION_GIT_REFS"),
        };
        let progress = ctx.out.progress(format!(
            "fetching {} {}{} ({}/{})",
            loc.role.as_str(),
            fetch::display_url(url),
            reference.as_deref().map(|r| format!(" at {r}")).unwrap_or_default(),
            i + 1,
            locations.len()
        ));
        let (url_owned, ref_owned, dest, token) =
            (url.clone(), reference.clone(), loc.root.clone(), settings.packages.git_token.clone());
        let (result, progress) = tokio::task::spawn_blocking(move || {
            let update = |detail: String| progress.update(detail);
            let request = fetch::Request {
                url: &url_owned,
                reference: ref_owned.as_deref(),
                ref_var,
                url_var,
                dest: &dest,
                token: token.as_ref(),
            };
            (fetch::fetch(&request, &update), progress)
        })
        .await
        .map_err(|e| Error::usage(format!("the fetch stopped unexpectedly: {e}")))?;
        let checkout = match result {
            Ok(c) => c,
            Err(e) => {
                progress.fail("failed");
                return Err(e);
            }
        };
        progress.finish(format!("{} {:?}", checkout.resolved, checkout.action).to_lowercase());
        let name = match packages::open(loc) {
            Ok(p) => Some(p.manifest.name),
            Err(e) => {
                ctx.out.warn(format!("{e} (run `olmisctl packages validate` for details)"));
                None
            }
        };
        fetched.push(Fetched {
            role: loc.role,
            name,
            url: fetch::display_url(url),
            reference: reference.clone(),
            dir: loc.root.clone(),
            checkout,
        });
    }
    let extensions_dir = settings.project_dir.join(packages::CHECKOUT_DIR).join("extensions");
    let configured: Vec<PathBuf> = locations.iter().map(|l| l.root.clone()).collect();
    for stale in fetch::stale_checkouts(&extensions_dir, &configured) {
        ctx.out.warn(format!("{} is no longer configured; delete it if you don't need it", stale.display()));
    }
    Ok(ctx.out.report(&FetchReport { packages: fetched }))
}
