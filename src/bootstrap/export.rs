//! `bootstrap export`: every selected table streamed out of one consistent snapshot with
//! `COPY (SELECT ...) TO STDOUT (FORMAT binary)`, turned into Debezium-shaped lines here and
//! written as zstd chunks, then the manifest.
//!
//! Why binary COPY and conversion in Rust rather than `row_to_json` in PostgreSQL: the source server
//! does the least work (binary send functions copy integers and bytes where text output formats
//! dates, timestamps and UUIDs, and `row_to_json` formats everything once more as JSON), and
//! `row_to_json` would still need a second pass here, since its dates, timestamps and numerics
//! aren't Debezium's. The conversion runs on our side of the wire, on the core PostgreSQL's
//! backend doesn't use; compression runs on a third thread.

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::catalog::{self, TableInfo};
use super::chunk_writer::ChunkWriter;
use super::copy_binary::CopyReader;
use super::line::LineEncoder;
use super::manifest::{self, ExportedTable, Manifest, Snapshot, Source};
use super::progress::{Throughput, count};
use super::snapshot;
use crate::clients::postgres::{SERVICE, query_error};
use crate::error::{Error, Result};
use crate::output::{Output, Report, Styles};
use crate::settings::{Settings, TableName};

/// Rows per chunk file unless `--chunk-rows` says otherwise: the unit an interrupted import
/// resumes from (about 30 MB of zstd for OpenLMIS's line items).
pub const DEFAULT_CHUNK_ROWS: u64 = 1_000_000;

/// Lines are handed to the compressor in batches of about this size.
const BATCH_BYTES: usize = 1 << 20;

pub struct ExportRequest {
    pub tables: Vec<TableName>,
    pub dir: PathBuf,
    pub chunk_rows: u64,
}

#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub export_id: String,
    pub dir: PathBuf,
    pub snapshot: Snapshot,
    pub tables: Vec<TableExport>,
}

#[derive(Debug, Serialize)]
pub struct TableExport {
    pub table: String,
    pub rows: u64,
    pub chunks: usize,
    pub bytes: u64,
    pub seconds: f64,
}

impl Report for ExportReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!(
            "{} {} ({} tables) to {}\n  snapshot at LSN {} ({}, {})\n",
            styles.bold.apply_to("Exported"),
            self.export_id,
            self.tables.len(),
            self.dir.display(),
            self.snapshot.lsn,
            self.snapshot.time,
            self.snapshot.consistency
        );
        let width = self.tables.iter().map(|t| t.table.len()).max().unwrap_or(0);
        for t in &self.tables {
            out.push_str(&format!(
                "  {:width$}  {:>12} rows  {:>10}  {:>6.1}s\n",
                t.table,
                count(t.rows),
                bytes(t.bytes),
                t.seconds
            ));
        }
        out.push_str(&format!("Import it with: olmisctl bootstrap import --from {}\n", self.dir.display()));
        out
    }
}

pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub async fn export(settings: &Settings, out: &Output, request: ExportRequest) -> Result<ExportReport> {
    if request.chunk_rows == 0 {
        return Err(Error::usage("--chunk-rows must be at least 1"));
    }
    let mut target = Target::prepare(&request.dir)?;
    let mut report = export_into(settings, out, &request, &target.partial).await?;
    target.commit()?;
    report.dir = request.dir.clone();
    Ok(report)
}

async fn export_into(settings: &Settings, out: &Output, request: &ExportRequest, dir: &Path) -> Result<ExportReport> {
    let snap = {
        let progress = out.progress(format!("taking a consistent snapshot of {} tables", request.tables.len()));
        match snapshot::take(settings, &request.tables, out).await {
            Ok(s) => {
                progress.finish(format!("LSN {} ({})", s.snapshot.lsn, s.snapshot.consistency));
                s
            }
            Err(e) => {
                progress.fail("failed");
                return Err(e);
            }
        }
    };
    let export_id = export_id(snap.snapshot.time_ms);
    let mut tables = Vec::new();
    let mut report_tables = Vec::new();
    for table in &request.tables {
        let info = catalog::describe(&snap.client, table).await?;
        let started = Instant::now();
        let progress = out.progress(format!("exporting {table}"));
        let exported = match export_table(&snap.client, &info, dir, request.chunk_rows, &progress).await {
            Ok(t) => t,
            Err(e) => {
                progress.fail("failed");
                return Err(e);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let bytes_total: u64 = exported.chunks.iter().map(|c| c.bytes).sum();
        progress.finish(format!(
            "{} rows, {} ({})",
            count(exported.rows),
            bytes(bytes_total),
            Throughput::rate(exported.rows, seconds)
        ));
        report_tables.push(TableExport {
            table: table.to_string(),
            rows: exported.rows,
            chunks: exported.chunks.len(),
            bytes: bytes_total,
            seconds,
        });
        tables.push(exported);
    }
    snap.client.batch_execute("COMMIT").await.map_err(|e| query_error("ending the snapshot transaction", &e))?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        export_id: export_id.clone(),
        source: Source {
            host: settings.source.host.clone(),
            port: settings.source.port,
            database: settings.source.db.clone(),
        },
        snapshot: snap.snapshot.clone(),
        tables,
    };
    manifest.write(dir)?;
    Ok(ExportReport { export_id, dir: dir.to_path_buf(), snapshot: snap.snapshot, tables: report_tables })
}

fn export_id(time_ms: i64) -> String {
    let mut stamp = Vec::new();
    super::debezium::write_iso_utc(&mut stamp, time_ms * 1000, 0);
    let stamp: String = String::from_utf8_lossy(&stamp).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{stamp}-{:08x}", rand::random::<u32>())
}

async fn export_table(
    client: &tokio_postgres::Client,
    info: &TableInfo,
    dir: &Path,
    chunk_rows: u64,
    progress: &crate::output::Progress,
) -> Result<ExportedTable> {
    let table = TableName::parse(&info.table).ok_or_else(|| Error::usage(format!("bad table name {}", info.table)))?;
    let sql = format!(
        "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
        catalog::select_list(info),
        catalog::quote_table(&table)
    );
    let stream = client.copy_out(sql.as_str()).await.map_err(|e| query_error(&format!("exporting {table}"), &e))?;
    let mut stream = std::pin::pin!(stream);
    let writer = ChunkWriter::start(dir, &info.table)?;
    let mut reader = CopyReader::new();
    let mut encoder = LineEncoder::new(info);
    let mut throughput = Throughput::new();
    let mut batch = Vec::with_capacity(BATCH_BYTES + 64 * 1024);
    let mut rows = 0u64;
    let mut in_chunk = 0u64;
    while let Some(message) = stream.next().await {
        let message = message.map_err(|e| query_error(&format!("exporting {table}"), &e))?;
        let fed = reader
            .feed(&message, |fields| {
                encoder.encode(&mut batch, rows, fields)?;
                rows += 1;
                in_chunk += 1;
                Ok::<(), super::line::RowError>(())
            })
            .map_err(|e| Error::service(SERVICE, format!("exporting {table}: {e}")))?;
        fed.map_err(|e| {
            Error::service(SERVICE, format!("exporting {table}: row {rows}, column {}: {}", e.column, e.problem))
        })?;
        if batch.len() >= BATCH_BYTES || in_chunk >= chunk_rows {
            writer.write(std::mem::replace(&mut batch, Vec::with_capacity(BATCH_BYTES + 64 * 1024))).await?;
            if in_chunk >= chunk_rows {
                writer.end_chunk(in_chunk).await?;
                in_chunk = 0;
            }
        }
        if let Some(rate) = throughput.tick(rows) {
            progress.update(format!("{} rows, {rate}", count(rows)));
        }
    }
    if !reader.finished() {
        return Err(Error::service(SERVICE, format!("exporting {table}: the COPY stream ended early")));
    }
    if !batch.is_empty() {
        writer.write(batch).await?;
    }
    if in_chunk > 0 {
        writer.end_chunk(in_chunk).await?;
    }
    let chunks = writer.finish().await?;
    Ok(ExportedTable { info: info.clone(), rows, chunks })
}

/// The export is written next to its destination and moved into place when complete, so a failed
/// or interrupted run (Ctrl-C drops it) never leaves a half-written export where a finished one was.
struct Target {
    dir: PathBuf,
    partial: PathBuf,
    committed: bool,
}

impl Target {
    fn prepare(dir: &Path) -> Result<Target> {
        let dir = std::path::absolute(dir).map_err(|e| Error::file(dir, format!("cannot resolve: {e}")))?;
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(Error::file(&dir, "is not a directory an export can be written to").with_hint("pass --to DIR"));
        };
        if dir.exists() {
            let is_export = dir.join(manifest::FILE_NAME).is_file();
            let empty = std::fs::read_dir(&dir).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !is_export && !empty {
                return Err(Error::file(&dir, "exists and is not an export; refusing to replace it")
                    .with_hint("pass --to with a new or empty directory"));
            }
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, format!("cannot create: {e}")))?;
        let partial = parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        if partial.exists() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        std::fs::create_dir(&partial).map_err(|e| Error::file(&partial, format!("cannot create: {e}")))?;
        Ok(Target { dir, partial, committed: false })
    }

    fn commit(&mut self) -> Result<()> {
        self.committed = true;
        if self.dir.exists() {
            let old = self.partial.with_extension("old");
            std::fs::rename(&self.dir, &old).map_err(|e| Error::file(&self.dir, format!("cannot replace: {e}")))?;
            std::fs::rename(&self.partial, &self.dir)
                .map_err(|e| Error::file(&self.dir, format!("cannot write: {e}")))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.partial, &self.dir)
                .map_err(|e| Error::file(&self.dir, format!("cannot write: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_refuses_to_replace_foreign_directories() {
        let root = tempfile::tempdir().unwrap();
        let foreign = root.path().join("mine");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
        let err = Target::prepare(&foreign).err().unwrap();
        assert!(err.to_string().contains("is not an export"), "{err}");

        let fresh = root.path().join("export");
        let mut t = Target::prepare(&fresh).unwrap();
        std::fs::write(t.partial.join(manifest::FILE_NAME), "{}").unwrap();
        t.commit().unwrap();
        assert!(fresh.join(manifest::FILE_NAME).is_file());
        // A finished export is replaced by the next one.
        let mut t = Target::prepare(&fresh).unwrap();
        std::fs::write(t.partial.join("new"), "").unwrap();
        t.commit().unwrap();
        assert!(fresh.join("new").is_file() && !fresh.join(manifest::FILE_NAME).exists());
        // An export that never finishes leaves nothing.
        let t = Target::prepare(&root.path().join("never")).unwrap();
        let partial = t.partial.clone();
        drop(t);
        assert!(!partial.exists() && !root.path().join("never").exists());
    }

    #[test]
    fn export_ids_sort_by_time() {
        let id = export_id(1_709_296_496_789);
        assert!(id.starts_with("20240301T123456Z-"), "{id}");
    }
}
