//! Writes a table's encoded lines into zstd-compressed chunk files on a blocking thread, so
//! compression runs on the second core while the async side reads and encodes the next rows. The
//! channel is bounded: memory stays at a few buffers whatever the table size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::manifest::Chunk;
use crate::error::{Error, Result};

/// zstd level 1: the export is CPU-bound on two cores, and higher levels cost more time than the
/// smaller files save (lines are repetitive JSON; level 1 already shrinks them about 8x).
const ZSTD_LEVEL: i32 = 1;
const QUEUE: usize = 4;

enum Msg {
    StartChunk { index: u32, first_offset: u64 },
    Data(Vec<u8>),
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

    pub async fn write(&self, data: Vec<u8>) -> Result<()> {
        self.tx.send(Msg::Data(data)).await.map_err(|_| stopped())
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
    encoder: zstd::Encoder<'static, BufWriter<File>>,
    path: PathBuf,
    file: String,
    first_offset: u64,
}

fn write_chunks(mut rx: mpsc::Receiver<Msg>, dir: &Path, folder: &str) -> Result<Vec<Chunk>> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut open: Option<Open> = None;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::StartChunk { index, first_offset } => {
                let name = format!("{index:06}.tsv.zst");
                let path = dir.join(&name);
                let file = File::create(&path).map_err(|e| Error::file(&path, format!("cannot create: {e}")))?;
                let encoder = zstd::Encoder::new(BufWriter::with_capacity(1 << 20, file), ZSTD_LEVEL)
                    .map_err(|e| Error::file(&path, format!("cannot start compression: {e}")))?;
                open = Some(Open { encoder, path, file: format!("{folder}/{name}"), first_offset });
            }
            Msg::Data(data) => {
                let Some(o) = open.as_mut() else {
                    return Err(Error::Failed("chunk data before the chunk started".into()));
                };
                o.encoder.write_all(&data).map_err(|e| Error::file(&o.path, format!("cannot write: {e}")))?;
            }
            Msg::EndChunk { rows } => {
                if let Some(o) = open.take() {
                    let path = o.path;
                    let mut writer = o
                        .encoder
                        .finish()
                        .map_err(|e| Error::file(&path, format!("cannot finish compression: {e}")))?;
                    writer.flush().map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
                    let file = writer.into_inner().map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
                    file.sync_all().map_err(|e| Error::file(&path, format!("cannot sync: {e}")))?;
                    let bytes = file.metadata().map_err(|e| Error::file(&path, e.to_string()))?.len();
                    chunks.push(Chunk { file: o.file, first_offset: o.first_offset, rows, bytes });
                }
            }
        }
    }
    if let Some(o) = open {
        return Err(Error::file(o.path, "the export stopped before this chunk was complete"));
    }
    Ok(chunks)
}
