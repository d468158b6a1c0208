//! The recovery's audit trail: one JSON object per line, appended as each step starts, finishes or
//! fails, so an operator (or a later run) can see exactly what was done and where it stopped.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub time: String,
    pub run: String,
    /// `run` for the run itself, else a step name.
    pub step: String,
    /// `started`, `finished`, `failed` or `skipped`.
    pub event: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

pub struct Audit {
    path: PathBuf,
    run: String,
}

impl Audit {
    pub fn open(path: &Path, run: &str) -> Result<Audit> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, format!("cannot create: {e}")))?;
        }
        Ok(Audit { path: path.to_path_buf(), run: run.to_string() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn record(&self, step: &str, event: &str, detail: &str) -> Result<()> {
        let entry =
            Entry { time: now(), run: self.run.clone(), step: step.into(), event: event.into(), detail: detail.into() };
        let line = serde_json::to_string(&entry).map_err(|e| Error::file(&self.path, e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::file(&self.path, format!("cannot write the audit log: {e}")))?;
        writeln!(file, "{line}").map_err(|e| Error::file(&self.path, format!("cannot write the audit log: {e}")))
    }
}

fn now() -> String {
    let micros =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    let mut out = Vec::new();
    super::debezium::write_iso_utc(&mut out, micros, 3);
    String::from_utf8_lossy(&out).into_owned()
}

/// The step a previous run stopped at, if the last run in the log did not finish.
pub fn unfinished(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let entries: Vec<Entry> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let last_run = entries.last()?.run.clone();
    let run: Vec<&Entry> = entries.iter().filter(|e| e.run == last_run).collect();
    if run.iter().any(|e| e.step == "run" && e.event == "finished") {
        return None;
    }
    run.iter().rev().find(|e| e.step != "run" && (e.event == "failed" || e.event == "started")).map(|e| e.step.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_where_the_last_run_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        assert_eq!(unfinished(&path), None);
        let a = Audit::open(&path, "r1").unwrap();
        a.record("run", "started", "").unwrap();
        a.record("export", "started", "").unwrap();
        a.record("export", "finished", "").unwrap();
        a.record("import", "started", "").unwrap();
        a.record("import", "failed", "clickhouse down").unwrap();
        assert_eq!(unfinished(&path).as_deref(), Some("import"));
        let b = Audit::open(&path, "r2").unwrap();
        b.record("run", "started", "").unwrap();
        b.record("import", "started", "").unwrap();
        assert_eq!(unfinished(&path).as_deref(), Some("import"), "killed mid-step");
        b.record("import", "finished", "").unwrap();
        b.record("run", "finished", "").unwrap();
        assert_eq!(unfinished(&path), None);
        let line = std::fs::read_to_string(&path).unwrap().lines().next().unwrap().to_string();
        let e: Entry = serde_json::from_str(&line).unwrap();
        assert_eq!((e.run.as_str(), e.step.as_str(), e.event.as_str()), ("r1", "run", "started"));
    }
}
