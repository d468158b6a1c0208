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

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use serde::Serialize;
use tokio_postgres::Client;

use super::catalog::{self, TableInfo};
use super::chunk_writer::ChunkWriter;
use super::copy_binary::CopyReader;
use super::line::LineEncoder;
use super::manifest::{self, ExportedTable, Manifest, Snapshot, Source};
use super::progress::Throughput;
use super::snapshot;
use crate::clients::postgres::{SERVICE, query_error};
use crate::error::{Error, Result};
use crate::output::thousands;
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
                thousands(t.rows),
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
        match snapshot::take(settings, &request.tables, READERS, out).await {
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
        let info = catalog::describe(&snap.clients[0], table).await?;
        let started = Instant::now();
        let progress = out.progress(format!("exporting {table}"));
        let exported = match export_table(&snap.clients, &info, dir, request.chunk_rows, &progress).await {
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
            thousands(exported.rows),
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
    for client in &snap.clients {
        client.batch_execute("COMMIT").await.map_err(|e| query_error("ending the snapshot transaction", &e))?;
    }
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

/// Connections reading one table at once, each a range of its pages in the same snapshot: the
/// source server reads on as many cores, and the encoding here runs on both of ours.
const READERS: usize = 2;

/// Tables smaller than this (64 MiB of 8 KiB pages) are read by one connection.
const PARALLEL_MIN_PAGES: i64 = 8192;

/// Page ranges `[from, to)` splitting a table of `pages` pages among `readers`; the last range is
/// open-ended (pages added after the size was read are still inside the snapshot's reach).
pub fn page_ranges(pages: i64, readers: usize) -> Vec<(i64, Option<i64>)> {
    if readers <= 1 || pages < PARALLEL_MIN_PAGES {
        return vec![(0, None)];
    }
    let n = readers as i64;
    (0..n).map(|i| (pages * i / n, (i + 1 < n).then(|| pages * (i + 1) / n))).collect()
}

/// The WHERE clause of one page range (PostgreSQL 14+ reads it with a TID range scan).
pub fn range_predicate((from, to): (i64, Option<i64>)) -> String {
    match (from, to) {
        (0, None) => String::new(),
        (from, None) => format!(" WHERE ctid >= '({from},0)'::tid"),
        (from, Some(to)) => format!(" WHERE ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid"),
    }
}

/// Hands out chunk numbers and offset ranges to the readers of one table: each chunk owns
/// `chunk_rows` offsets, so rows are numbered uniquely without the readers waiting on each other.
struct Reservations {
    chunk_rows: u64,
    next: std::sync::Mutex<(u32, u64)>,
}

impl Reservations {
    fn reserve(&self) -> (u32, u64) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let taken = *next;
        *next = (taken.0 + 1, taken.1 + self.chunk_rows);
        taken
    }
}

async fn export_table(
    clients: &[Client],
    info: &TableInfo,
    dir: &Path,
    chunk_rows: u64,
    progress: &crate::output::Progress,
) -> Result<ExportedTable> {
    let table = TableName::parse(&info.table).ok_or_else(|| Error::usage(format!("bad table name {}", info.table)))?;
    let row = clients[0]
        .query_one(
            "SELECT pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint, \
             current_setting('server_version_num')::int >= 140000",
            &[&catalog::quote_table(&table)],
        )
        .await
        .map_err(|e| query_error(&format!("reading the size of {table}"), &e))?;
    let (pages, tid_range_scans): (i64, bool) = (row.get(0), row.get(1));
    let readers = if tid_range_scans { clients.len() } else { 1 };
    let select = format!("SELECT {} FROM {}", catalog::select_list(info), catalog::quote_table(&table));
    let plan = Reservations { chunk_rows, next: std::sync::Mutex::new((0, 0)) };
    let rows = AtomicU64::new(0);
    let reads = page_ranges(pages, readers).into_iter().zip(clients).map(|(range, client)| {
        let sql = format!("COPY ({select}{}) TO STDOUT (FORMAT binary)", range_predicate(range));
        read_range(client, sql, info, &table, dir, &plan, &rows)
    });
    let all = futures_util::future::try_join_all(reads);
    let mut all = std::pin::pin!(all);
    let mut throughput = Throughput::new();
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut chunks: Vec<_> = loop {
        tokio::select! {
            done = &mut all => break done?.into_iter().flatten().collect(),
            _ = ticker.tick() => {
                let n = rows.load(Ordering::Relaxed);
                if let Some(rate) = throughput.tick(n) {
                    progress.update(format!("{} rows, {rate}", thousands(n)));
                }
            }
        }
    };
    chunks.sort_by(|a: &super::manifest::Chunk, b| a.file.cmp(&b.file));
    Ok(ExportedTable { info: info.clone(), rows: rows.load(Ordering::Relaxed), chunks })
}

/// Streams one COPY into chunk files of at most `chunk_rows` lines.
async fn read_range(
    client: &Client,
    sql: String,
    info: &TableInfo,
    table: &TableName,
    dir: &Path,
    plan: &Reservations,
    rows: &AtomicU64,
) -> Result<Vec<super::manifest::Chunk>> {
    let stream = client.copy_out(sql.as_str()).await.map_err(|e| query_error(&format!("exporting {table}"), &e))?;
    let mut stream = std::pin::pin!(stream);
    let writer = ChunkWriter::start(dir, &info.table)?;
    let mut reader = CopyReader::new();
    let mut encoder = LineEncoder::new(info);
    let mut batch = Vec::with_capacity(BATCH_BYTES + 64 * 1024);
    let mut ends = Vec::new();
    let mut chunk: Option<u64> = None;
    let mut in_chunk = 0u64;
    let bad_row = |e: super::line::RowError| {
        Error::service(SERVICE, format!("exporting {table}: column {}: {}", e.column, e.problem))
    };
    while let Some(message) = stream.next().await {
        reader.push(&message.map_err(|e| query_error(&format!("exporting {table}"), &e))?);
        while let Some(row) =
            reader.next_row().map_err(|e| Error::service(SERVICE, format!("exporting {table}: {e}")))?
        {
            let mut starting = None;
            let first = match chunk {
                Some(first) => first,
                None => {
                    let (index, first) = plan.reserve();
                    starting = Some(index);
                    chunk = Some(first);
                    first
                }
            };
            encoder.encode(&mut batch, first + in_chunk, &row).map_err(bad_row)?;
            ends.push(batch.len());
            in_chunk += 1;
            rows.fetch_add(1, Ordering::Relaxed);
            if let Some(index) = starting {
                writer.start_chunk(index, first).await?;
            }
            if batch.len() >= BATCH_BYTES || in_chunk == plan.chunk_rows {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_BYTES + 64 * 1024));
                writer.write(full, std::mem::take(&mut ends)).await?;
            }
            if in_chunk == plan.chunk_rows {
                writer.end_chunk(in_chunk).await?;
                chunk = None;
                in_chunk = 0;
            }
        }
    }
    if !reader.finished() {
        return Err(Error::service(SERVICE, format!("exporting {table}: the COPY stream ended early")));
    }
    if in_chunk > 0 {
        writer.write(batch, ends).await?;
        writer.end_chunk(in_chunk).await?;
    }
    writer.finish().await
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
    fn big_tables_are_read_in_page_ranges() {
        assert_eq!(page_ranges(100, 2), vec![(0, None)], "small tables in one piece");
        assert_eq!(page_ranges(20_000, 1), vec![(0, None)]);
        assert_eq!(page_ranges(20_000, 2), vec![(0, Some(10_000)), (10_000, None)]);
        assert_eq!(page_ranges(30_001, 3), vec![(0, Some(10_000)), (10_000, Some(20_000)), (20_000, None)]);
        assert_eq!(range_predicate((0, None)), "");
        assert_eq!(range_predicate((0, Some(5))), " WHERE ctid >= '(0,0)'::tid AND ctid < '(5,0)'::tid");
        assert_eq!(range_predicate((5, None)), " WHERE ctid >= '(5,0)'::tid");
    }

    #[test]
    fn chunks_own_disjoint_offset_ranges() {
        let plan = Reservations { chunk_rows: 10, next: std::sync::Mutex::new((0, 0)) };
        assert_eq!(plan.reserve(), (0, 0));
        assert_eq!(plan.reserve(), (1, 10));
        assert_eq!(plan.reserve(), (2, 20));
    }

    #[test]
    fn export_ids_sort_by_time() {
        let id = export_id(1_709_296_496_789);
        assert!(id.starts_with("20240301T123456Z-"), "{id}");
    }
}
