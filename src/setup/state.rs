//! `.olmisctl/setup-state.json` in the project directory: what `setup` imported into Superset last
//! time (each package's bundle digest, per Superset URL).
//!
//! Why a file: every other step asks its service whether its work is done (connector config,
//! tables, offsets, marts' build time). Superset can't answer "are these objects exactly my YAML?"
//! short of exporting and comparing everything, and re-importing would touch every object on each
//! run. The digest of what was sent, plus each object's presence by UUID, answers it cheaply. The
//! file holds no secret; deleting it only costs one re-import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const DIR: &str = ".olmisctl";
pub const FILE: &str = "setup-state.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Superset URL -> package -> SHA-256 of the bundle imported.
    #[serde(default)]
    pub superset: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn path(project_dir: &Path) -> PathBuf {
    project_dir.join(DIR).join(FILE)
}

/// The saved state; an absent or unreadable file is an empty state (it is only an optimisation).
pub fn load(project_dir: &Path) -> State {
    std::fs::read_to_string(path(project_dir))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

pub fn save(project_dir: &Path, state: &State) -> Result<()> {
    let file = path(project_dir);
    let fail = |e: std::io::Error| Error::file(&file, format!("cannot write setup's state: {e}"));
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(state).map_err(|e| Error::file(&file, e.to_string()))?;
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, format!("{text}\n")).map_err(fail)?;
    std::fs::rename(&tmp, &file).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_a_missing_or_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), State::default());
        let mut state = State::default();
        state.superset.insert("http://s/".into(), [("core".to_string(), "abc".to_string())].into());
        save(dir.path(), &state).unwrap();
        assert_eq!(load(dir.path()), state);
        std::fs::write(path(dir.path()), "{ not json").unwrap();
        assert_eq!(load(dir.path()), State::default());
    }
}
