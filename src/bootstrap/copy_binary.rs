//! A streaming reader of PostgreSQL's binary COPY format: the 19-byte header (signature, flags,
//! extension length), then per row a field count and `(length, bytes)` per field (length -1 for
//! NULL), then a `-1` trailer. Messages are pushed in as they arrive and rows pulled out one at a
//! time; a row split across messages waits for the rest.

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed binary COPY data: {}", self.0)
    }
}

#[derive(Default)]
pub struct CopyReader {
    buf: Vec<u8>,
    pos: usize,
    header_done: bool,
    finished: bool,
    /// Field byte ranges of the current row, relative to its start; reused between rows.
    fields: Vec<Option<(usize, usize)>>,
}

/// One row's fields, borrowed from the reader until the next pull.
pub struct Row<'a> {
    data: &'a [u8],
    fields: &'a [Option<(usize, usize)>],
}

impl<'a> Row<'a> {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field `i`'s bytes, None for NULL.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.fields[i].map(|(s, e)| &self.data[s..e])
    }
}

impl CopyReader {
    pub fn new() -> CopyReader {
        CopyReader::default()
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Adds one message's bytes (what was already read is dropped first).
    pub fn push(&mut self, message: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
        self.buf.extend_from_slice(message);
    }

    /// The next complete row, or None until more data is pushed (or after the trailer).
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, FormatError> {
        if !self.header_done {
            match header_len(&self.buf[self.pos..])? {
                Some(len) => {
                    self.pos += len;
                    self.header_done = true;
                }
                None => return Ok(None),
            }
        }
        if self.finished {
            return Ok(None);
        }
        let start = self.pos;
        let data = &self.buf[start..];
        let Some(count) = data.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else {
            return Ok(None);
        };
        if count == -1 {
            self.finished = true;
            self.pos += 2;
            return Ok(None);
        }
        if count < 0 {
            return Err(FormatError(format!("negative field count {count}")));
        }
        self.fields.clear();
        let mut pos = 2;
        for _ in 0..count {
            let Some(len) = data.get(pos..pos + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
                return Ok(None);
            };
            pos += 4;
            if len == -1 {
                self.fields.push(None);
            } else if len < 0 {
                return Err(FormatError(format!("negative field length {len}")));
            } else {
                let end = pos + len as usize;
                if end > data.len() {
                    return Ok(None);
                }
                self.fields.push(Some((pos, end)));
                pos = end;
            }
        }
        self.pos = start + pos;
        Ok(Some(Row { data: &self.buf[start..start + pos], fields: &self.fields }))
    }
}

/// Length of the header at the start of `data`, None if it is not all there yet.
fn header_len(data: &[u8]) -> Result<Option<usize>, FormatError> {
    if data.len() < SIGNATURE.len() + 8 {
        return if SIGNATURE.starts_with(&data[..data.len().min(SIGNATURE.len())]) {
            Ok(None)
        } else {
            Err(FormatError("bad signature".into()))
        };
    }
    if !data.starts_with(SIGNATURE) {
        return Err(FormatError("bad signature".into()));
    }
    let at = SIGNATURE.len() + 4;
    let ext = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
    let len = at + 4 + ext;
    Ok((data.len() >= len).then_some(len))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A binary COPY stream of these rows.
    pub fn stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        for row in rows {
            v.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for f in row {
                match f {
                    Some(b) => {
                        v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        v.extend_from_slice(b);
                    }
                    None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        v.extend_from_slice(&(-1i16).to_be_bytes());
        v
    }

    fn read_in_pieces(data: &[u8], piece: usize) -> Vec<Vec<Option<Vec<u8>>>> {
        let mut reader = CopyReader::new();
        let mut got = Vec::new();
        for part in data.chunks(piece) {
            reader.push(part);
            while let Some(row) = reader.next_row().unwrap() {
                got.push((0..row.len()).map(|i| row.get(i).map(<[u8]>::to_vec)).collect());
            }
        }
        assert!(reader.finished());
        got
    }

    #[test]
    fn rows_survive_any_split() {
        let rows = vec![vec![Some(&b"abc"[..]), None], vec![Some(&b""[..]), Some(&b"0123456789"[..])]];
        let data = stream(&rows);
        let want: Vec<Vec<Option<Vec<u8>>>> =
            rows.iter().map(|r| r.iter().map(|f| f.map(<[u8]>::to_vec)).collect()).collect();
        for piece in [1, 2, 3, 7, 19, 20, 1000] {
            assert_eq!(read_in_pieces(&data, piece), want, "piece {piece}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        let mut reader = CopyReader::new();
        reader.push(b"NOTCOPY-------------------");
        assert!(reader.next_row().is_err());
    }
}
