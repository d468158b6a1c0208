//! The body of one chunk's insert, streamed: the chunk's sorted runs merged into one sorted stream
//! (on a blocking thread, so the merge runs beside ClickHouse's parsing), or the file as it is on
//! disk when it holds a single run, when it has too many runs to merge in little memory, or when
//! an older export has no runs at all (ClickHouse then sorts it itself).
//!
//! Progress: `counted` holds this chunk's rows sent so far (exact when merging, estimated from the
//! bytes read otherwise) and each step is added to `rows_done`, the table's total.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::manifest::Chunk;
use super::sorted_runs::Merger;
use crate::error::{Error, Result};

/// Runs merged at most: each open run costs about 1 MiB (its zstd window and read buffers), and two
/// chunks are in flight. A default chunk (1M rows of about 500 bytes) has 16 runs.
pub const MAX_MERGED_RUNS: usize = 64;

/// Bytes handed to the HTTP body at a time.
const PIECE: usize = 1 << 20;

pub type BodyStream = std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

pub struct Body {
    pub stream: BodyStream,
    /// The body's `Content-Encoding`, if compressed.
    pub encoding: Option<&'static str>,
    /// The merge, when the runs are merged: its outcome explains a failed insert.
    pub merge: Option<tokio::task::JoinHandle<std::result::Result<(), MergeStop>>>,
}

/// Why a merge ended early.
#[derive(Debug)]
pub enum MergeStop {
    /// The insert stopped reading (its own error says why).
    Abandoned,
    Failed(Error),
}

/// Progress counters of one chunk (see the module docs).
#[derive(Clone)]
pub struct Counters {
    pub counted: Arc<AtomicU64>,
    pub rows_done: Arc<AtomicU64>,
}

impl Counters {
    fn set(&self, rows: u64) {
        let before = self.counted.swap(rows, Ordering::Relaxed);
        self.rows_done.fetch_add(rows.saturating_sub(before), Ordering::Relaxed);
    }
}

/// Opens the chunk's body. `compress`: zstd-compress a merged stream (worth it unless ClickHouse
/// is on this machine, where compressing costs more CPU than the bytes saved).
pub async fn open(path: &Path, chunk: &Chunk, compress: bool, counters: Counters) -> Result<Body> {
    if chunk.runs.len() < 2 || chunk.runs.len() > MAX_MERGED_RUNS {
        let file = tokio::fs::File::open(path).await.map_err(|e| Error::file(path, format!("cannot open: {e}")))?;
        return Ok(Body { stream: Box::pin(file_stream(file, chunk, counters)), encoding: Some("zstd"), merge: None });
    }
    let readers = open_runs(path, chunk)?;
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let (path, rows) = (path.to_path_buf(), chunk.rows);
    let merge = tokio::task::spawn_blocking(move || merge(readers, tx, compress, rows, &path, &counters));
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Body { stream: Box::pin(stream), encoding: compress.then_some("zstd"), merge: Some(merge) })
}

type RunReader = BufReader<zstd::Decoder<'static, BufReader<io::Take<File>>>>;

/// One reader per run: its byte range of the file, decompressed.
fn open_runs(path: &Path, chunk: &Chunk) -> Result<Vec<RunReader>> {
    let mut readers = Vec::with_capacity(chunk.runs.len());
    for (i, &start) in chunk.runs.iter().enumerate() {
        let end = chunk.runs.get(i + 1).copied().unwrap_or(chunk.bytes);
        let mut file = File::open(path).map_err(|e| Error::file(path, format!("cannot open: {e}")))?;
        file.seek(SeekFrom::Start(start)).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        let decoder = zstd::Decoder::new(file.take(end.saturating_sub(start)))
            .map_err(|e| Error::file(path, format!("cannot start decompression: {e}")))?;
        readers.push(BufReader::with_capacity(64 << 10, decoder));
    }
    Ok(readers)
}

fn merge(
    readers: Vec<RunReader>,
    tx: mpsc::Sender<io::Result<Bytes>>,
    compress: bool,
    rows: u64,
    path: &PathBuf,
    counters: &Counters,
) -> std::result::Result<(), MergeStop> {
    let abort = tx.clone();
    let outcome = merge_into(readers, Pieces { tx, buf: Vec::with_capacity(PIECE) }, compress, rows, counters);
    match outcome {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(MergeStop::Abandoned),
        Err(e) => {
            // Fail the body too, so ClickHouse drops the insert instead of committing part of it.
            let _ = abort.blocking_send(Err(io::Error::other("the chunk could not be read")));
            Err(MergeStop::Failed(
                Error::file(path, format!("cannot read its sorted runs: {e}"))
                    .with_hint("the export is damaged: copy the whole export directory again, or export again"),
            ))
        }
    }
}

fn merge_into(
    readers: Vec<RunReader>,
    pieces: Pieces,
    compress: bool,
    rows: u64,
    counters: &Counters,
) -> io::Result<()> {
    let mut sink = if compress {
        // Level 1: the merge must keep up with ClickHouse, and the window stays 512 KiB.
        Sink::Zstd(zstd::Encoder::new(pieces, 1)?)
    } else {
        Sink::Plain(pieces)
    };
    let mut merger = Merger::new(readers)?;
    let mut lines = Vec::with_capacity(PIECE + (64 << 10));
    let mut merged = 0u64;
    while merger.next_into(&mut lines)? {
        merged += 1;
        if lines.len() >= PIECE {
            lines = sink.take(lines)?;
            counters.set(merged);
        }
    }
    if merged != rows {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("its runs hold {merged} rows, the manifest says {rows}"),
        ));
    }
    sink.take(lines)?;
    sink.finish()?;
    counters.set(merged);
    Ok(())
}

enum Sink {
    Plain(Pieces),
    Zstd(zstd::Encoder<'static, Pieces>),
}

impl Sink {
    /// Passes `lines` on and returns an empty buffer for the next ones (uncompressed, the buffer
    /// itself becomes a piece of the body: no copy).
    fn take(&mut self, mut lines: Vec<u8>) -> io::Result<Vec<u8>> {
        match self {
            Sink::Plain(p) => {
                let capacity = lines.capacity();
                p.send_piece(lines)?;
                Ok(Vec::with_capacity(capacity))
            }
            Sink::Zstd(z) => {
                z.write_all(&lines)?;
                lines.clear();
                Ok(lines)
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut p) => p.flush(),
            Sink::Zstd(z) => z.finish()?.flush(),
        }
    }
}

/// Hands the bytes written to it to the HTTP body in pieces of about [`PIECE`]; BrokenPipe once
/// the body is no longer read.
struct Pieces {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.send_piece(piece)
    }

    fn send_piece(&mut self, piece: Vec<u8>) -> io::Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(Ok(Bytes::from(piece))).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for Pieces {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The chunk file as a stream of 256 KiB reads; each read adds its share of the chunk's rows to
/// the progress estimate.
fn file_stream(
    file: tokio::fs::File,
    chunk: &Chunk,
    counters: Counters,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    let (rows, bytes) = (chunk.rows, chunk.bytes.max(1));
    futures_util::stream::try_unfold((file, 0u64), move |(mut file, mut read)| {
        let counters = counters.clone();
        async move {
            let mut buf = bytes::BytesMut::with_capacity(256 * 1024);
            let n = file.read_buf(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            read += n as u64;
            counters.set((rows as u128 * read.min(bytes) as u128 / bytes as u128) as u64);
            Ok(Some((buf.freeze(), (file, read))))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn line(offset: u64, key: &str) -> String {
        format!("{offset}\t{{\"id\":\"{key}\"}}\t{{\"id\":\"{key}\"}}\n")
    }

    /// Writes runs as zstd frames into one file and returns its chunk entry.
    fn chunk_file(dir: &Path, runs: &[&[String]]) -> (PathBuf, Chunk) {
        let path = dir.join("000000.tsv.zst");
        let mut data = Vec::new();
        let mut starts = Vec::new();
        for run in runs {
            starts.push(data.len() as u64);
            data.extend(zstd::encode_all(run.concat().as_bytes(), 1).unwrap());
        }
        std::fs::write(&path, &data).unwrap();
        let rows = runs.iter().map(|r| r.len() as u64).sum();
        (path, Chunk { file: "x".into(), first_offset: 0, rows, bytes: data.len() as u64, runs: starts })
    }

    fn counters() -> Counters {
        Counters { counted: Arc::new(AtomicU64::new(0)), rows_done: Arc::new(AtomicU64::new(0)) }
    }

    async fn read_all(body: Body) -> (io::Result<Vec<u8>>, Option<std::result::Result<(), MergeStop>>) {
        let mut stream = body.stream;
        let mut out = Vec::new();
        let mut failed = None;
        while let Some(piece) = stream.next().await {
            match piece {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => failed = Some(e),
            }
        }
        let merge = match body.merge {
            Some(h) => Some(h.await.unwrap()),
            None => None,
        };
        (failed.map_or(Ok(out), Err), merge)
    }

    #[tokio::test]
    async fn runs_are_merged_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let (path, chunk) =
            chunk_file(dir.path(), &[&[line(0, "b"), line(1, "d")], &[line(2, "a"), line(3, "c"), line(4, "e")]]);
        for compress in [false, true] {
            let c = counters();
            let body = open(&path, &chunk, compress, c.clone()).await.unwrap();
            assert_eq!(body.encoding, compress.then_some("zstd"));
            let (data, merge) = read_all(body).await;
            let mut data = data.unwrap();
            if compress {
                data = zstd::decode_all(&data[..]).unwrap();
            }
            let want = [line(2, "a"), line(0, "b"), line(3, "c"), line(1, "d"), line(4, "e")].concat();
            assert_eq!(String::from_utf8(data).unwrap(), want);
            assert!(matches!(merge, Some(Ok(()))));
            assert_eq!(c.rows_done.load(Ordering::Relaxed), 5);
        }
    }

    #[tokio::test]
    async fn single_runs_and_old_exports_go_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut chunk) = chunk_file(dir.path(), &[&[line(0, "b"), line(1, "a")]]);
        for runs in [vec![0], vec![]] {
            chunk.runs = runs;
            let body = open(&path, &chunk, false, counters()).await.unwrap();
            assert_eq!(body.encoding, Some("zstd"));
            let (data, merge) = read_all(body).await;
            assert_eq!(data.unwrap(), std::fs::read(&path).unwrap());
            assert!(merge.is_none());
        }
    }

    #[tokio::test]
    async fn damaged_runs_fail_the_body_and_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut chunk) = chunk_file(dir.path(), &[&[line(0, "a")], &[line(1, "b")]]);
        chunk.rows = 3;
        let (data, merge) = read_all(open(&path, &chunk, false, counters()).await.unwrap()).await;
        assert!(data.is_err(), "the body must not end cleanly");
        let Some(Err(MergeStop::Failed(e))) = merge else { panic!("{merge:?}") };
        assert!(e.to_string().contains("hold 2 rows, the manifest says 3"), "{e}");
        assert!(e.to_string().contains("000000.tsv.zst"), "{e}");
    }
}
