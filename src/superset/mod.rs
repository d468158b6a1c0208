//! Superset assets as code: reading a package's asset tree, the checks a bundle must pass, the
//! import bundle, and turning an export back into package files. Pure, apart from reading the tree;
//! the REST calls are in [`crate::clients::superset`].

pub mod bundle;
pub mod check;
pub mod export;
pub mod render;
pub mod sources;
pub mod tree;
pub mod verify;
pub mod yaml;
