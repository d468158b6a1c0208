//! A streaming reader of PostgreSQL's binary COPY format: the 19-byte header (signature, flags,
//! extension length), then per row a field count and `(length, bytes)` per field (length -1 for
//! NULL), then a `-1` trailer. PostgreSQL sends a row per CopyData message, but nothing here relies
//! on that: a row split across messages is carried over.

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
    carry: Vec<u8>,
    header_done: bool,
    finished: bool,
    /// Field byte ranges of the current row, reused between rows.
    fields: Vec<Option<(usize, usize)>>,
}

impl CopyReader {
    pub fn new() -> CopyReader {
        CopyReader::default()
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Feeds one message; calls `row` with each complete row's fields (None = NULL).
    pub fn feed<E>(
        &mut self,
        message: &[u8],
        mut row: impl FnMut(&[Option<&[u8]>]) -> Result<(), E>,
    ) -> Result<Result<(), E>, FormatError> {
        let owned;
        let data: &[u8] = if self.carry.is_empty() {
            message
        } else {
            self.carry.extend_from_slice(message);
            owned = std::mem::take(&mut self.carry);
            &owned
        };
        let mut pos = 0;
        if !self.header_done {
            match header_len(data)? {
                Some(len) => {
                    pos = len;
                    self.header_done = true;
                }
                None => {
                    self.carry = data.to_vec();
                    return Ok(Ok(()));
                }
            }
        }
        let mut values: Vec<Option<&[u8]>> = Vec::new();
        while pos < data.len() && !self.finished {
            match self.parse_row(&data[pos..])? {
                Some(RowEnd::Trailer) => {
                    self.finished = true;
                    pos += 2;
                }
                Some(RowEnd::Row(len)) => {
                    values.clear();
                    values.extend(self.fields.iter().map(|f| f.map(|(s, e)| &data[pos + s..pos + e])));
                    if let Err(e) = row(&values) {
                        return Ok(Err(e));
                    }
                    pos += len;
                }
                None => break,
            }
        }
        if pos < data.len() && !self.finished {
            self.carry = data[pos..].to_vec();
        }
        Ok(Ok(()))
    }

    /// Parses one row at the start of `data` into `self.fields`; None if incomplete.
    fn parse_row(&mut self, data: &[u8]) -> Result<Option<RowEnd>, FormatError> {
        let Some(count) = data.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else {
            return Ok(None);
        };
        if count == -1 {
            return Ok(Some(RowEnd::Trailer));
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
        Ok(Some(RowEnd::Row(pos)))
    }
}

enum RowEnd {
    Row(usize),
    Trailer,
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
mod tests {
    use super::*;

    fn stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
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
            reader
                .feed::<()>(part, |fields| {
                    got.push(fields.iter().map(|f| f.map(<[u8]>::to_vec)).collect());
                    Ok(())
                })
                .unwrap()
                .unwrap();
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
        assert!(reader.feed::<()>(b"NOTCOPY-------------------", |_| Ok(())).is_err());
    }
}
