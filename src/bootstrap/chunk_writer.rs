//! Writes a table's encoded lines into zstd-compressed chunk files on a blocking thread, so
//! sorting and compression run on the second core while the async side reads and encodes the next
//! rows. Each chunk is a sequence of sorted runs, one zstd frame each (see [`super::sorted_runs`]).
//! The channel is bounded and a run is at most [`RUN_BYTES`]: memory stays at a few buffers whatever
//! the table size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::manifest::Chunk;
use super::sorted_runs::{RUN_BYTES, Run};
use crate::error::{Error, Result};

/// zstd level 1: the export is CPU-bound on two cores, and higher levels cost more time than the
/// smaller files save (lines are repetitive JSON; level 1 already shrinks them about 8x).
const ZSTD_LEVEL: i32 = 1;
const QUEUE: usize = 4;

enum Msg {
    StartChunk { index: u32, first_offset: u64 },
    Lines { bytes: Vec<u8>, ends: Vec<usize> },
    EndChunk { rows: u64 },
}

pub struct ChunkWriter {
    tx: mpsc::Sender<Msg>,
    handle: tokio::task::JoinHandle<Result<Vec<Chunk>>>,
}

impl ChunkWriter {
    /// Chunk `i` goes to `<root>/<folder>/<i, 6 digits>.tsv.zst`.
    pub fn start(root: &Path, folder: &str) -> Result<ChunkWriter> {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, format!("cannot create: {e}")))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let folder = folder.to_string();
        let handle = tokio::task::spawn_blocking(move || write_chunks(rx, &dir, &folder));
        Ok(ChunkWriter { tx, handle })
    }

    /// Opens chunk `index`, whose rows carry offsets from `first_offset` on.
    pub async fn start_chunk(&self, index: u32, first_offset: u64) -> Result<()> {
        self.tx.send(Msg::StartChunk { index, first_offset }).await.map_err(|_| stopped())
    }

    /// Adds whole lines: `ends` holds the end offset of each line in `bytes`.
    pub async fn write(&self, bytes: Vec<u8>, ends: Vec<usize>) -> Result<()> {
        self.tx.send(Msg::Lines { bytes, ends }).await.map_err(|_| stopped())
    }

    pub async fn end_chunk(&self, rows: u64) -> Result<()> {
        self.tx.send(Msg::EndChunk { rows }).await.map_err(|_| stopped())
    }

    /// Waits for the files to be complete on disk and returns them.
    pub async fn finish(self) -> Result<Vec<Chunk>> {
        drop(self.tx);
        self.handle.await.map_err(|e| Error::Failed(format!("the chunk writer failed: {e}")))?
    }
}

/// The writer thread ends on a write error; the error itself comes back from `finish`.
fn stopped() -> Error {
    Error::Failed("the chunk writer stopped".into())
}

struct Open {
    writer: BufWriter<File>,
    /// Bytes written to the file so far: where the next run starts.
    written: u64,
    /// Where each finished run starts.
    runs: Vec<u64>,
    path: PathBuf,
    file: String,
    first_offset: u64,
}

impl Open {
    /// Writes the run's lines in key order as one zstd frame.
    fn write_run(&mut self, run: &mut Run) -> Result<()> {
        if run.rows() == 0 {
            return Ok(());
        }
        let path = &self.path;
        let mut counted = Counted { inner: &mut self.writer, written: 0 };
        let mut encoder = zstd::Encoder::new(&mut counted, ZSTD_LEVEL)
            .map_err(|e| Error::file(path, format!("cannot start compression: {e}")))?;
        run.write_sorted(&mut encoder).map_err(|e| Error::file(path, format!("cannot write: {e}")))?;
        encoder.finish().map_err(|e| Error::file(path, format!("cannot finish compression: {e}")))?;
        self.runs.push(self.written);
        self.written += counted.written;
        Ok(())
    }
}

/// Counts the bytes passing through to the file.
struct Counted<'a, W: Write> {
    inner: &'a mut W,
    written: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn write_chunks(mut rx: mpsc::Receiver<Msg>, dir: &Path, folder: &str) -> Result<Vec<Chunk>> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut open: Option<Open> = None;
    let mut run = Run::new();
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::StartChunk { index, first_offset } => {
                let name = format!("{index:06}.tsv.zst");
                let path = dir.join(&name);
                let file = File::create(&path).map_err(|e| Error::file(&path, format!("cannot create: {e}")))?;
                let writer = BufWriter::with_capacity(1 << 20, file);
                open = Some(Open {
                    writer,
                    written: 0,
                    runs: Vec::new(),
                    path,
                    file: format!("{folder}/{name}"),
                    first_offset,
                });
            }
            Msg::Lines { bytes, ends } => {
                let Some(o) = open.as_mut() else {
                    return Err(Error::Failed("chunk data before the chunk started".into()));
                };
                run.push(bytes, &ends).map_err(|e| Error::Failed(format!("exporting {}: {e}", o.file)))?;
                if run.bytes() >= RUN_BYTES {
                    o.write_run(&mut run)?;
                }
            }
            Msg::EndChunk { rows } => {
                if let Some(mut o) = open.take() {
                    o.write_run(&mut run)?;
                    let path = o.path;
                    o.writer.flush().map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
                    let file = o.writer.into_inner().map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
                    file.sync_all().map_err(|e| Error::file(&path, format!("cannot sync: {e}")))?;
                    let bytes = file.metadata().map_err(|e| Error::file(&path, e.to_string()))?.len();
                    chunks.push(Chunk { file: o.file, first_offset: o.first_offset, rows, bytes, runs: o.runs });
                }
            }
        }
    }
    if let Some(o) = open {
        return Err(Error::file(o.path, "the export stopped before this chunk was complete"));
    }
    Ok(chunks)
}
