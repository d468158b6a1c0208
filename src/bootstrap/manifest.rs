//! `manifest.json`, written last into an export directory: what was exported, from which consistent
//! snapshot, and the files that hold each table. An export without a manifest is incomplete.
//!
//! Data files are zstd-compressed TabSeparated, one line per row: `offset \t key \t after`, where
//! `key` and `after` are the Debezium key and `after` JSON (backslashes doubled, as TabSeparated
//! wants) and `offset` a number unique within the table's export: chunk files own disjoint ranges
//! (`first_offset` .. `first_offset + rows`). A file is a sequence of zstd frames, each a run of
//! lines sorted by key (`runs` gives where each starts); `zstdcat FILE | head` shows the lines.
//! Exports without `runs` (olmisctl before sorted runs) import as they are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::TableInfo;
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "manifest.json";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped when the layout changes incompatibly.
    pub format: u32,
    pub export_id: String,
    pub source: Source,
    pub snapshot: Snapshot,
    pub tables: Vec<ExportedTable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub host: String,
    pub port: u16,
    pub database: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `pg_current_wal_insert_lsn()` taken with the snapshot, as PostgreSQL prints it.
    pub lsn: String,
    /// The `lsn` the imported events carry: one below the snapshot's WAL position (see
    /// [`super::snapshot`] for why this ranks them correctly against CDC events).
    pub event_lsn: u64,
    /// Wall-clock time of the snapshot (RFC 3339, UTC) and as epoch milliseconds (`source_ts_ms`).
    pub time: String,
    pub time_ms: i64,
    /// `locked`: writers to the exported tables were held off while the snapshot was taken, so no
    /// transaction straddles it; `unlocked`: the user could not lock the tables (see the warning the
    /// export printed).
    pub consistency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedTable {
    #[serde(flatten)]
    pub info: TableInfo,
    pub rows: u64,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Relative to the export directory.
    pub file: String,
    pub first_offset: u64,
    pub rows: u64,
    /// Compressed size.
    pub bytes: u64,
    /// Byte offsets in the file where each sorted run (one zstd frame) starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<u64>,
}

impl Manifest {
    pub fn table(&self, name: &str) -> Option<&ExportedTable> {
        self.tables.iter().find(|t| t.info.table == name)
    }

    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let hint = if dir.is_dir() {
                "this directory holds no finished export: run `olmisctl bootstrap export --to DIR` first"
            } else {
                "pass the directory `bootstrap export --to` wrote"
            };
            Error::file(&path, format!("cannot read: {e}")).with_hint(hint)
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::file(
                &path,
                format!("is not a valid export manifest: {e} (line {}, column {})", e.line(), e.column()),
            )
            .with_hint("re-run `olmisctl bootstrap export`; the manifest is written by it, not by hand")
        })?;
        if manifest.format != FORMAT {
            return Err(Error::file(
                &path,
                format!("field `format`: this olmisctl reads format {FORMAT}, the manifest has {}", manifest.format),
            )
            .with_hint("import with the olmisctl version that exported it, or export again"));
        }
        manifest.check_files(dir)?;
        Ok(manifest)
    }

    /// Every data file is present with the size the export recorded (a truncated copy of an export
    /// must not import half a table).
    fn check_files(&self, dir: &Path) -> Result<()> {
        for table in &self.tables {
            for chunk in &table.chunks {
                let path = self.chunk_path(dir, chunk)?;
                let len = std::fs::metadata(&path).map(|m| m.len()).map_err(|e| {
                    Error::file(&path, format!("data file of {} is missing: {e}", table.info.table))
                        .with_hint("copy the whole export directory, or export again")
                })?;
                if len != chunk.bytes {
                    return Err(Error::file(
                        &path,
                        format!("has {len} bytes, the manifest expects {} (truncated or replaced?)", chunk.bytes),
                    )
                    .with_hint("copy the whole export directory again, or export again"));
                }
                let ordered = chunk.runs.first().is_none_or(|&first| first == 0)
                    && chunk.runs.windows(2).all(|w| w[0] < w[1])
                    && chunk.runs.last().is_none_or(|&last| last < chunk.bytes.max(1));
                if !ordered {
                    return Err(Error::file(
                        dir.join(FILE_NAME),
                        format!("field `runs` of {}: expected increasing offsets from 0 inside the file", chunk.file),
                    )
                    .with_hint("re-run `olmisctl bootstrap export`; the manifest is written by it, not by hand"));
                }
            }
        }
        Ok(())
    }

    /// A chunk's path, refusing names that would leave the export directory.
    pub fn chunk_path(&self, dir: &Path, chunk: &Chunk) -> Result<PathBuf> {
        let relative = Path::new(&chunk.file);
        let safe = relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if !safe {
            return Err(Error::file(
                dir.join(FILE_NAME),
                format!("field `file`: {:?} is not inside the export", chunk.file),
            ));
        }
        Ok(dir.join(relative))
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE_NAME);
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::file(&path, e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::file(&path, format!("cannot write: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::catalog::Column;
    use crate::bootstrap::debezium::Encoding;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT,
            export_id: "x".into(),
            source: Source { host: "h".into(), port: 5432, database: "d".into() },
            snapshot: Snapshot {
                lsn: "0/10".into(),
                event_lsn: 15,
                time: "2026-01-01T00:00:00Z".into(),
                time_ms: 0,
                consistency: "locked".into(),
            },
            tables: vec![ExportedTable {
                info: TableInfo {
                    table: "s.t".into(),
                    columns: vec![Column { name: "id".into(), type_name: "integer".into(), encoding: Encoding::Int4 }],
                    primary_key: vec!["id".into()],
                },
                rows: 1,
                chunks: vec![Chunk {
                    file: "s.t/000000.tsv.zst".into(),
                    first_offset: 0,
                    rows: 1,
                    bytes: 3,
                    runs: vec![0],
                }],
            }],
        }
    }

    #[test]
    fn round_trips_and_checks_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = sample();
        std::fs::create_dir(dir.path().join("s.t")).unwrap();
        std::fs::write(dir.path().join("s.t/000000.tsv.zst"), b"abc").unwrap();
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);

        std::fs::write(dir.path().join("s.t/000000.tsv.zst"), b"ab").unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("has 2 bytes, the manifest expects 3"), "{err}");

        std::fs::write(dir.path().join("s.t/000000.tsv.zst"), b"abc").unwrap();
        for runs in [vec![1], vec![0, 0], vec![0, 3]] {
            let mut bad = m.clone();
            bad.tables[0].chunks[0].runs = runs;
            bad.write(dir.path()).unwrap();
            let err = Manifest::read(dir.path()).unwrap_err();
            assert!(err.to_string().contains("field `runs`"), "{err}");
        }
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(err.hint().unwrap().contains("bootstrap export"), "{err}");
        std::fs::write(dir.path().join(FILE_NAME), "{\"format\": 1,").unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a valid export manifest"), "{err}");
        let mut m = sample();
        m.tables[0].chunks[0].file = "../../etc/passwd".into();
        m.write(dir.path()).unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is not inside the export"), "{err}");
    }
}
