//! One exported row as one line of the data files: `offset \t key \t after \n`, with `key` the
//! Debezium key JSON (primary key columns in key order) and `after` the row JSON (all columns in
//! table order), both TSV-escaped. Debezium writes them compactly, without spaces; so does this.

use super::catalog::TableInfo;
use super::copy_binary::Row;
use super::debezium::{BadValue, Encoding, write_int, write_string, write_value};

pub struct LineEncoder {
    names: Vec<String>,
    encodings: Vec<Encoding>,
    /// `{"col":` for the first column, `,"col":` for the others, JSON- and TSV-escaped.
    after_prefixes: Vec<Vec<u8>>,
    key_positions: Vec<usize>,
    key_prefixes: Vec<Vec<u8>>,
}

/// A row that can't be encoded: which column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: String,
    pub problem: String,
}

impl LineEncoder {
    pub fn new(info: &TableInfo) -> LineEncoder {
        let prefix = |i: usize, name: &str| {
            let mut p = vec![if i == 0 { b'{' } else { b',' }];
            write_string(&mut p, name.as_bytes());
            p.push(b':');
            p
        };
        let key_positions = info.key_positions();
        LineEncoder {
            names: info.columns.iter().map(|c| c.name.clone()).collect(),
            encodings: info.columns.iter().map(|c| c.encoding).collect(),
            after_prefixes: info.columns.iter().enumerate().map(|(i, c)| prefix(i, &c.name)).collect(),
            key_prefixes: key_positions.iter().enumerate().map(|(i, &p)| prefix(i, &info.columns[p].name)).collect(),
            key_positions,
        }
    }

    /// Appends the line for one row to `out` (nothing on error).
    pub fn encode(&mut self, out: &mut Vec<u8>, offset: u64, row: &Row<'_>) -> Result<(), RowError> {
        if row.len() != self.encodings.len() {
            return Err(RowError {
                column: String::new(),
                problem: format!("row has {} fields, the table {}", row.len(), self.encodings.len()),
            });
        }
        let start = out.len();
        let written = self.write_line(out, offset, row);
        if written.is_err() {
            out.truncate(start);
        }
        written
    }

    /// The key columns are encoded twice, once for the key and once for `after`: cheaper than
    /// building `after` aside and copying it in behind the key.
    fn write_line(&self, out: &mut Vec<u8>, offset: u64, row: &Row<'_>) -> Result<(), RowError> {
        let value = |out: &mut Vec<u8>, i: usize| {
            write_value(out, self.encodings[i], row.get(i))
                .map_err(|e: BadValue| RowError { column: self.names[i].clone(), problem: e.to_string() })
        };
        write_int(out, offset as i64);
        out.push(b'\t');
        for (prefix, &pos) in self.key_prefixes.iter().zip(&self.key_positions) {
            out.extend_from_slice(prefix);
            value(out, pos)?;
        }
        out.push(b'}');
        out.push(b'\t');
        for (i, prefix) in self.after_prefixes.iter().enumerate() {
            out.extend_from_slice(prefix);
            value(out, i)?;
        }
        if row.is_empty() {
            out.push(b'{');
        }
        out.push(b'}');
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::catalog::Column;
    use crate::bootstrap::copy_binary::{CopyReader, tests::stream};

    /// Encodes one row given as field values.
    fn line(enc: &mut LineEncoder, offset: u64, fields: Vec<Option<&[u8]>>) -> Result<String, RowError> {
        let mut reader = CopyReader::new();
        reader.push(&stream(&[fields]));
        let row = reader.next_row().unwrap().unwrap();
        let mut out = Vec::new();
        enc.encode(&mut out, offset, &row)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn col(name: &str, encoding: Encoding) -> Column {
        Column { name: name.into(), type_name: String::new(), encoding }
    }

    #[test]
    fn composite_keys_follow_key_order_not_column_order() {
        // Debezium printed {"b":"x","a":1} for PRIMARY KEY (b, a) on columns (a, b, v).
        let info = TableInfo {
            table: "s.p".into(),
            columns: vec![col("a", Encoding::Int4), col("b", Encoding::Text), col("v", Encoding::Text)],
            primary_key: vec!["b".into(), "a".into()],
        };
        let mut enc = LineEncoder::new(&info);
        let text = line(&mut enc, 7, vec![Some(&1i32.to_be_bytes()), Some(b"x"), None]).unwrap();
        assert_eq!(text, "7\t{\"b\":\"x\",\"a\":1}\t{\"a\":1,\"b\":\"x\",\"v\":null}\n");
    }

    #[test]
    fn bad_values_name_their_column() {
        let info = TableInfo {
            table: "s.t".into(),
            columns: vec![col("id", Encoding::Int4), col("when", Encoding::Date)],
            primary_key: vec!["id".into()],
        };
        let mut enc = LineEncoder::new(&info);
        let err = line(&mut enc, 0, vec![Some(&1i32.to_be_bytes()), Some(b"xy")]).unwrap_err();
        assert_eq!(err.column, "when");
        let mut reader = CopyReader::new();
        reader.push(&stream(&[vec![Some(&1i32.to_be_bytes()[..]), Some(b"xy")]]));
        let mut out = b"earlier line\n".to_vec();
        assert!(enc.encode(&mut out, 0, &reader.next_row().unwrap().unwrap()).is_err());
        assert_eq!(out, b"earlier line\n", "a failed row leaves nothing behind");
        assert!(line(&mut enc, 0, vec![None]).is_err());
    }
}
