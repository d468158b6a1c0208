//! Superset assets as code: reading a package's asset tree, the import bundle, and turning an
//! export back into package files. Pure, apart from reading the tree; the checks an import must
//! pass are the package validator's ([`crate::packages::validate_superset`]), the REST calls are in
//! [`crate::clients::superset`].

pub mod bundle;
pub mod export;
pub mod render;
pub mod tree;
pub mod verify;
pub mod yaml;

use std::path::PathBuf;

use crate::packages::PackageSet;
use crate::packages::superset::ASSETS_DIR;
use crate::settings::Settings;

/// The name the project's own assets (`superset/assets/` in the project directory) go by.
pub const PLATFORM: &str = "platform";

/// An asset folder of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDir {
    /// [`PLATFORM`] or the package's name.
    pub package: String,
    pub dir: PathBuf,
}

/// The project's platform assets, if it has any.
pub fn platform_assets(settings: &Settings) -> Option<PathBuf> {
    Some(settings.project_dir.join(ASSETS_DIR)).filter(|dir| dir.is_dir())
}

/// The asset folders in import order: the platform's, the core's, then each extension's as
/// configured. Packages without `superset/assets/` have none.
pub fn asset_dirs(settings: &Settings, packages: &PackageSet) -> Vec<AssetDir> {
    let platform = platform_assets(settings).map(|dir| AssetDir { package: PLATFORM.to_string(), dir });
    let packages =
        packages.iter().filter_map(|p| p.superset_assets().map(|dir| AssetDir { package: p.name().to_string(), dir }));
    platform.into_iter().chain(packages).collect()
}
