//! `olmisctl superset-export`: one dashboard with its charts, datasets and database, exported
//! through the API and written into a package as reviewable YAML.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::clients::superset::Superset;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};
use crate::packages::load::folder_label;
use crate::packages::superset::AssetKind;
use crate::superset::{asset_dirs, export, tree};

#[derive(Debug, Args)]
pub struct SupersetExportArgs {
    /// Dashboard slug or UUID
    #[arg(long)]
    pub dashboard: String,
    /// Package directory to write the YAML into
    #[arg(long, value_name = "PACKAGE")]
    pub to: std::path::PathBuf,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Change {
    Added,
    Updated,
    Unchanged,
}

#[derive(Debug, Serialize)]
struct Written {
    file: String,
    change: Change,
}

#[derive(Debug, Serialize)]
struct Kept {
    kind: AssetKind,
    title: String,
    package: String,
}

#[derive(Debug, Serialize)]
struct ExportReport {
    dashboard: String,
    dashboard_uuid: String,
    assets_dir: String,
    files: Vec<Written>,
    /// Objects the dashboard uses that another configured package defines (not copied).
    owned_elsewhere: Vec<Kept>,
}

impl Report for ExportReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!(
            "{}\n",
            styles.bold.apply_to(format!("Exported dashboard {:?} into {}", self.dashboard, self.assets_dir))
        );
        for f in &self.files {
            let label = match f.change {
                Change::Added => styles.ok.apply_to("added    "),
                Change::Updated => styles.warn.apply_to("updated  "),
                Change::Unchanged => styles.dim.apply_to("unchanged"),
            };
            out.push_str(&format!("  {label} {}\n", f.file));
        }
        for k in &self.owned_elsewhere {
            out.push_str(&format!(
                "  {} {} {:?} (defined by {})\n",
                styles.dim.apply_to("kept     "),
                k.kind.as_str(),
                k.title,
                k.package
            ));
        }
        let count = |c| self.files.iter().filter(|f| f.change == c).count();
        out.push_str(&format!(
            "{} added, {} updated, {} unchanged\n",
            count(Change::Added),
            count(Change::Updated),
            count(Change::Unchanged)
        ));
        out
    }
}

pub async fn run(args: SupersetExportArgs, ctx: &Ctx) -> Result<Exit> {
    let settings = &ctx.settings;
    let package_dir = settings.project_dir.join(&args.to);
    if !package_dir.is_dir() {
        return Err(Error::file(&package_dir, "is not a directory")
            .with_hint("pass the package's root directory (the one with manifest.yaml)"));
    }
    let assets_dir = tree::assets_dir_of(&package_dir);
    let same_dir =
        |a: &PathBuf, b: &PathBuf| a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(x, y)| x == y);
    // What the other configured packages define stays theirs (see `export::place`).
    let others: Vec<_> = asset_dirs(settings, &crate::packages::resolve(settings)?)
        .into_iter()
        .filter(|d| !same_dir(&d.dir, &assets_dir))
        .map(|d| tree::read_tree(&d.package, &d.dir))
        .collect();
    let existing = tree::read_tree(&folder_label(&package_dir), &assets_dir);

    let mut superset = Superset::new(settings)?;
    let progress = ctx.out.progress(format!("Exporting dashboard {:?} from {}", args.dashboard, superset.url()));
    let result = async {
        superset.login().await?;
        let dashboard = superset.find_dashboard(&args.dashboard).await?.ok_or_else(|| {
            Error::usage(format!("Superset has no dashboard with slug or UUID {:?}", args.dashboard)).with_hint(
                "the slug is in the dashboard's URL (/superset/dashboard/<slug>/); its UUID is in the package YAML",
            )
        })?;
        let zip = superset.export_dashboard(dashboard.id).await?;
        Ok::<_, Error>((dashboard, zip))
    }
    .await;
    let (dashboard, zip) = match result {
        Ok(ok) => {
            progress.finish("done");
            ok
        }
        Err(e) => {
            progress.fail("failed");
            return Err(e);
        }
    };
    let assets = export::read_zip(&zip).map_err(|e| Error::service(crate::clients::superset::SERVICE, e))?;
    let placement = export::place(&assets, &existing, &others);

    let mut files = Vec::new();
    for (rel, text) in &placement.files {
        let path = assets_dir.join(rel);
        let before = std::fs::read_to_string(&path).ok();
        let change = match before {
            None => Change::Added,
            Some(old) if old == *text => Change::Unchanged,
            Some(_) => Change::Updated,
        };
        if change != Change::Unchanged {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::file(parent, format!("cannot create the folder: {e}")))?;
            }
            std::fs::write(&path, text).map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
        }
        files.push(Written { file: rel.display().to_string(), change });
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    let owned_elsewhere =
        placement.owned_elsewhere.into_iter().map(|(kind, title, package)| Kept { kind, title, package }).collect();
    Ok(ctx.out.report(&ExportReport {
        dashboard: dashboard.title,
        dashboard_uuid: dashboard.uuid,
        assets_dir: assets_dir.display().to_string(),
        files,
        owned_elsewhere,
    }))
}
