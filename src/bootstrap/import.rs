//! `bootstrap import`: streams an export's chunk files into `raw.events_<t>` as snapshot events.
//!
//! Each chunk goes to ClickHouse as TabSeparated rows of an `INSERT ... SELECT ... FROM input(...)`
//! that adds the constant event columns (and applies `--since/--until`), in the table's sort order:
//! the chunk's sorted runs are merged on the way ([`chunk_reader`]), so ClickHouse, which does
//! most of an import's work, need not sort. Memory is a few buffers per run whatever the table
//! size.
//!
//! Idempotence and resuming use a ledger, `raw.bootstrap_imports`: one row per (table, export
//! position, chunk, filter) once that chunk is in. A chunk without a ledger row may have been cut off
//! mid-insert (ClickHouse commits large inserts block by block), so its leftover rows, found by
//! their offsets, are deleted before it is inserted again. Insert deduplication tokens were the
//! other option; they only work on MergeTree tables created with `non_replicated_deduplication_window`
//! and depend on identical block boundaries between attempts, so they can't promise this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::catalog::TableInfo;
use super::chunk_reader::{self, Counters, MergeStop};
use super::debezium::Encoding;
use super::manifest::{Chunk, ExportedTable, Manifest, Snapshot};
use super::progress::Throughput;
use super::raw_events::{self as sql, DateFilter, RawLayer};
use crate::clickhouse::ddl::Layout;
use crate::clients::clickhouse::{ClickHouse, SERVICE};
use crate::clients::http;
use crate::error::{Error, Result};
use crate::output::thousands;
use crate::output::{Output, Progress, Report, Styles};
use crate::settings::{Settings, TableName};

pub struct ImportRequest {
    pub dir: PathBuf,
    pub tables: Option<Vec<TableName>>,
    pub range: Option<DateRange>,
}

/// `--date-column` with `--since` and/or `--until`, validated.
#[derive(Debug, Clone)]
pub struct DateRange {
    pub column: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub text: String,
}

impl DateRange {
    pub fn from_flags(column: Option<&str>, since: Option<&str>, until: Option<&str>) -> Result<Option<DateRange>> {
        let day = |flag: &str, value: Option<&str>| -> Result<Option<i64>> {
            value
                .map(|v| {
                    sql::parse_date(v).ok_or_else(|| {
                        Error::usage(format!("{flag} {v:?} is not a date")).with_hint("write dates as YYYY-MM-DD")
                    })
                })
                .transpose()
        };
        let (since_days, until_days) = (day("--since", since)?, day("--until", until)?);
        match (column, since_days.is_some() || until_days.is_some()) {
            (None, false) => Ok(None),
            (None, true) => Err(Error::usage("--since/--until need --date-column")
                .with_hint("name the date column they apply to, e.g. --date-column occurreddate")),
            (Some(_), false) => {
                Err(Error::usage("--date-column needs --since and/or --until").with_hint("e.g. --since 2024-01-01"))
            }
            (Some(column), true) => {
                if let (Some(s), Some(u)) = (since_days, until_days)
                    && s >= u
                {
                    return Err(Error::usage(format!(
                        "--since {} is not before --until {}: the range is empty",
                        since.unwrap_or_default(),
                        until.unwrap_or_default()
                    )));
                }
                let text = match (since, until) {
                    (Some(s), Some(u)) => format!("{column} in [{s}, {u})"),
                    (Some(s), None) => format!("{column} >= {s}"),
                    (None, _) => format!("{column} < {}", until.unwrap_or_default()),
                };
                Ok(Some(DateRange { column: column.to_string(), since: since_days, until: until_days, text }))
            }
        }
    }

    fn filter_for(&self, info: &TableInfo) -> Result<DateFilter> {
        let column = info.column(&self.column).ok_or_else(|| {
            Error::usage(format!("--date-column {}: table {} has no such column", self.column, info.table))
                .with_hint("pick the tables that have it with --tables")
        })?;
        match column.encoding {
            Encoding::Date | Encoding::Timestamp | Encoding::TimestampTz(_) => Ok(DateFilter {
                column: self.column.clone(),
                encoding: column.encoding,
                since: self.since,
                until: self.until,
                text: self.text.clone(),
            }),
            _ => Err(Error::usage(format!(
                "--date-column {}: in {} it is {}, not a date, timestamp or timestamptz",
                self.column, info.table, column.type_name
            ))),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub export_id: String,
    pub event_lsn: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub tables: Vec<TableImport>,
}

#[derive(Debug, Serialize)]
pub struct TableImport {
    pub table: String,
    pub rows_imported: u64,
    pub chunks_imported: usize,
    pub chunks_already_imported: usize,
    pub leftover_rows_removed: u64,
    /// Delete events written for rows that were in ClickHouse but no longer in the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implied_deletes: Option<u64>,
    pub seconds: f64,
}

impl Report for ImportReport {
    fn human(&self, styles: &Styles) -> String {
        let imported: u64 = self.tables.iter().map(|t| t.rows_imported).sum();
        let mut out = format!(
            "{} export {} ({} tables, {} rows{})\n",
            styles.bold.apply_to("Imported"),
            self.export_id,
            self.tables.len(),
            thousands(imported),
            self.filter.as_ref().map(|f| format!(", {f}")).unwrap_or_default()
        );
        let width = self.tables.iter().map(|t| t.table.len()).max().unwrap_or(0);
        for t in &self.tables {
            let mut notes = Vec::new();
            if t.chunks_already_imported > 0 {
                notes.push(format!("{} chunks already in", t.chunks_already_imported));
            }
            if t.leftover_rows_removed > 0 {
                notes.push(format!("{} rows of an interrupted import replaced", thousands(t.leftover_rows_removed)));
            }
            if let Some(d) = t.implied_deletes.filter(|d| *d > 0) {
                notes.push(format!("{} rows deleted in the source", thousands(d)));
            }
            let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
            out.push_str(&format!(
                "  {:width$}  {:>12} rows  {:>6.1}s  {}{}\n",
                t.table,
                thousands(t.rows_imported),
                t.seconds,
                Throughput::rate(t.rows_imported, t.seconds),
                styles.dim.apply_to(notes)
            ));
        }
        out
    }
}

pub async fn import(settings: &Settings, out: &Output, request: ImportRequest) -> Result<ImportReport> {
    let ch = &ClickHouse::new(settings)?;
    let raw = &RawLayer::from_settings(settings);
    let manifest = Manifest::read(&request.dir)?;
    let selected = select_tables(&manifest, request.tables.as_deref())?;
    let filters: Vec<Option<DateFilter>> = selected
        .iter()
        .map(|t| request.range.as_ref().map(|r| r.filter_for(&t.info)).transpose())
        .collect::<Result<_>>()?;
    for t in &selected {
        let table = table_name(&t.info)?;
        let exists = ch.scalar(&format!("EXISTS TABLE {}", raw.events(&table))).await?;
        if exists != "1" {
            return Err(Error::service(SERVICE, format!("{} does not exist", raw.events_name(&table)))
                .with_hint("create the raw landing first: olmisctl clickhouse-init"));
        }
    }
    ch.execute(&raw.create_ledger(&Layout::from_settings(&settings.clickhouse))?).await?;
    let mut tables = Vec::new();
    for (t, filter) in selected.iter().zip(&filters) {
        tables.push(import_table(ch, raw, out, &manifest, &request.dir, t, filter.as_ref()).await?);
    }
    Ok(ImportReport {
        export_id: manifest.export_id.clone(),
        event_lsn: manifest.snapshot.event_lsn,
        filter: request.range.map(|r| r.text),
        tables,
    })
}

fn select_tables<'m>(manifest: &'m Manifest, wanted: Option<&[TableName]>) -> Result<Vec<&'m ExportedTable>> {
    let Some(wanted) = wanted else {
        return Ok(manifest.tables.iter().collect());
    };
    wanted
        .iter()
        .map(|w| {
            manifest.table(&w.to_string()).ok_or_else(|| {
                let have: Vec<&str> = manifest.tables.iter().map(|t| t.info.table.as_str()).collect();
                Error::usage(format!("--tables: {w} is not in export {}", manifest.export_id))
                    .with_hint(format!("the export has: {}", have.join(", ")))
            })
        })
        .collect()
}

fn table_name(info: &TableInfo) -> Result<TableName> {
    TableName::parse(&info.table)
        .ok_or_else(|| Error::usage(format!("the manifest names an invalid table {:?}", info.table)))
}

#[derive(Deserialize)]
struct LedgerEntry {
    chunk: u32,
    filter: String,
}

async fn import_table(
    ch: &ClickHouse,
    raw: &RawLayer,
    out: &Output,
    manifest: &Manifest,
    dir: &Path,
    exported: &ExportedTable,
    filter: Option<&DateFilter>,
) -> Result<TableImport> {
    let table = table_name(&exported.info)?;
    let mut done: HashMap<u32, Vec<String>> = HashMap::new();
    for e in ch.rows::<LedgerEntry>(&raw.ledger_entries(&table, manifest.snapshot.event_lsn)).await? {
        done.entry(e.chunk).or_default().push(e.filter);
    }
    let progress = out.progress(format!("importing {table}"));
    let started = Instant::now();
    match import_chunks(ch, raw, manifest, dir, exported, filter, &done, &progress, started).await {
        Ok(mut result) => {
            result.seconds = started.elapsed().as_secs_f64();
            let mut outcome = format!(
                "{} rows ({})",
                thousands(result.rows_imported),
                Throughput::rate(result.rows_imported, result.seconds)
            );
            if result.chunks_already_imported > 0 {
                outcome.push_str(&format!(
                    ", {} of {} chunks already in",
                    result.chunks_already_imported,
                    exported.chunks.len()
                ));
            }
            progress.finish(outcome);
            Ok(result)
        }
        Err(e) => {
            progress.fail("failed");
            Err(e)
        }
    }
}

/// Chunks in flight at once: ClickHouse parses, sorts and compresses each insert largely on one
/// thread, so two keep both cores of a small server busy.
const CONCURRENT_CHUNKS: usize = 2;

#[allow(clippy::too_many_arguments)]
async fn import_chunks(
    ch: &ClickHouse,
    raw: &RawLayer,
    manifest: &Manifest,
    dir: &Path,
    exported: &ExportedTable,
    filter: Option<&DateFilter>,
    done: &HashMap<u32, Vec<String>>,
    progress: &Progress,
    started: Instant,
) -> Result<TableImport> {
    let table = table_name(&exported.info)?;
    let snapshot = &manifest.snapshot;
    let filter_text = filter.map(|f| f.text.clone()).unwrap_or_default();
    let mut result = TableImport {
        table: table.to_string(),
        rows_imported: 0,
        chunks_imported: 0,
        chunks_already_imported: 0,
        leftover_rows_removed: 0,
        implied_deletes: None,
        seconds: 0.0,
    };
    let rows_done = Arc::new(AtomicU64::new(0));
    let mut pending = Vec::new();
    for (index, chunk) in exported.chunks.iter().enumerate() {
        let index = u32::try_from(index).map_err(|_| Error::usage("too many chunks"))?;
        let entries = done.get(&index).map(Vec::as_slice).unwrap_or_default();
        // A full import of a chunk covers any filtered one.
        if entries.iter().any(|f| f.is_empty() || *f == filter_text) {
            result.chunks_already_imported += 1;
            rows_done.fetch_add(chunk.rows, Ordering::Relaxed);
        } else {
            pending.push((index, chunk));
        }
    }
    let job = ChunkJob {
        ch,
        raw,
        manifest,
        dir,
        table: &table,
        filter,
        filter_text: &filter_text,
        rows_done: &rows_done,
        compress_merged: !http::is_loopback(ch.url()),
    };
    let mut imports = futures_util::stream::iter(pending.into_iter().map(|(index, chunk)| job.run(index, chunk)))
        .buffer_unordered(CONCURRENT_CHUNKS);
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            next = imports.next() => match next {
                Some(outcome) => {
                    let (written, leftovers) = outcome?;
                    result.rows_imported += written;
                    result.leftover_rows_removed += leftovers;
                    result.chunks_imported += 1;
                }
                None => break,
            },
            _ = ticker.tick() => {
                let rows = rows_done.load(Ordering::Relaxed);
                progress.update(format!("{} rows, {}", thousands(rows), Throughput::rate(rows, started.elapsed().as_secs_f64())));
            }
        }
    }
    if filter.is_none() {
        progress.update("writing the deletes the snapshot implies");
        result.implied_deletes = Some(implied_deletes(ch, raw, &exported.info, &table, snapshot).await?);
    }
    Ok(result)
}

/// Writes the deletes the snapshot implies and returns how many were new.
async fn implied_deletes(
    ch: &ClickHouse,
    raw: &RawLayer,
    info: &TableInfo,
    table: &TableName,
    snapshot: &Snapshot,
) -> Result<u64> {
    let events = raw.events(table);
    let older: u64 = ch
        .scalar(&format!("SELECT count() FROM {events} WHERE lsn < {}", snapshot.event_lsn))
        .await?
        .parse()
        .unwrap_or(0);
    if older == 0 {
        return Ok(0);
    }
    let count_deletes = format!(
        "SELECT count() FROM {events} WHERE origin = 'bootstrap' AND op = 'd' AND lsn = {}",
        snapshot.event_lsn
    );
    let before: u64 = ch.scalar(&count_deletes).await?.parse().unwrap_or(0);
    ch.execute(&raw.insert_implied_deletes(info, table, snapshot)).await?;
    let after: u64 = ch.scalar(&count_deletes).await?.parse().unwrap_or(0);
    Ok(after.saturating_sub(before))
}

/// What importing one chunk needs; `run` removes what an interrupted attempt left of the chunk,
/// streams the file, and records the chunk in the ledger. Returns (rows written, leftovers removed).
struct ChunkJob<'a> {
    ch: &'a ClickHouse,
    raw: &'a RawLayer,
    manifest: &'a Manifest,
    dir: &'a Path,
    table: &'a TableName,
    filter: Option<&'a DateFilter>,
    filter_text: &'a str,
    /// Rows through so far (while a chunk is in flight: counted when its runs are merged, else
    /// estimated from the bytes sent).
    rows_done: &'a Arc<AtomicU64>,
    /// Whether a merged body is compressed (see [`chunk_reader::open`]).
    compress_merged: bool,
}

impl ChunkJob<'_> {
    async fn run(&self, index: u32, chunk: &Chunk) -> Result<(u64, u64)> {
        let snapshot = &self.manifest.snapshot;
        let events = self.raw.events(self.table);
        let condition = sql::chunk_rows_condition(
            snapshot.event_lsn,
            chunk.first_offset,
            chunk.first_offset + chunk.rows,
            self.filter,
        );
        let leftovers: u64 =
            self.ch.scalar(&format!("SELECT count() FROM {events} WHERE {condition}")).await?.parse().unwrap_or(0);
        if leftovers > 0 {
            self.ch.execute(&format!("DELETE FROM {events} WHERE {condition}")).await?;
        }
        let path = self.manifest.chunk_path(self.dir, chunk)?;
        let counters = Counters { counted: Arc::new(AtomicU64::new(0)), rows_done: self.rows_done.clone() };
        let body = chunk_reader::open(&path, chunk, self.compress_merged, counters.clone()).await?;
        let statement = self.raw.insert_chunk(self.table, snapshot, self.filter);
        let inserted = self.ch.insert_stream(&statement, body.encoding, body.stream).await;
        if let Some(merge) = body.merge {
            let outcome = merge.await.map_err(|e| Error::Failed(format!("merging {}: {e}", path.display())))?;
            if let Err(MergeStop::Failed(e)) = outcome {
                return Err(e);
            }
        }
        let summary = inserted.map_err(|e| match e {
            Error::Service { service, message, hint } => {
                Error::Service { service, message: format!("importing {}: {message}", path.display()), hint }
            }
            other => other,
        })?;
        let counted = counters.counted;
        // Settle the estimate to the chunk's exact row count.
        let estimated = counted.load(Ordering::Relaxed);
        self.rows_done.fetch_add(chunk.rows.saturating_sub(estimated), Ordering::Relaxed);
        self.ch
            .execute(&self.raw.ledger_record(
                &self.manifest.export_id,
                self.table,
                snapshot.event_lsn,
                index,
                self.filter_text,
                summary.written_rows,
            ))
            .await?;
        Ok((summary.written_rows, leftovers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_flags_are_validated_together() {
        assert!(DateRange::from_flags(None, None, None).unwrap().is_none());
        let err = DateRange::from_flags(None, Some("2024-01-01"), None).unwrap_err();
        assert!(err.to_string().contains("need --date-column"), "{err}");
        let err = DateRange::from_flags(Some("d"), None, None).unwrap_err();
        assert!(err.to_string().contains("needs --since"), "{err}");
        let err = DateRange::from_flags(Some("d"), Some("2024-02-01"), Some("2024-01-01")).unwrap_err();
        assert!(err.to_string().contains("range is empty"), "{err}");
        let err = DateRange::from_flags(Some("d"), Some("01/02/2024"), None).unwrap_err();
        assert!(err.hint().unwrap().contains("YYYY-MM-DD"), "{err}");
        let r = DateRange::from_flags(Some("d"), Some("2024-01-01"), Some("2024-02-01")).unwrap().unwrap();
        assert_eq!(r.text, "d in [2024-01-01, 2024-02-01)");
    }
}
