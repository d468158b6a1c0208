//! PostgreSQL's COPY text format: one line per row, tab-separated, `\N` for NULL, backslash escapes.
//! Rows describe themselves ([`Row`]); [`Table`] lets the loader treat every table alike.

use super::calendar::{Date, Timestamp};
use super::random::Id;

/// One table's row type: its qualified name, the columns it fills (in order), and how to write one.
pub trait Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    fn write(&self, w: &mut Line<'_>);
}

/// A table of generated rows, type-erased for the loader.
pub trait Table: Sync {
    fn name(&self) -> &'static str;
    fn columns(&self) -> &'static [&'static str];
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends rows `range` to `buf` in COPY text format.
    fn encode(&self, range: std::ops::Range<usize>, buf: &mut String);
}

impl<R: Row + Sync> Table for Vec<R> {
    fn name(&self) -> &'static str {
        R::TABLE
    }

    fn columns(&self) -> &'static [&'static str] {
        R::COLUMNS
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn encode(&self, range: std::ops::Range<usize>, buf: &mut String) {
        for row in &self[range] {
            let mut line = Line { buf, fields: 0 };
            row.write(&mut line);
            debug_assert_eq!(line.fields, R::COLUMNS.len(), "{} writes one field per column", R::TABLE);
            buf.push('\n');
        }
    }
}

/// The row being written. Each method appends one field.
pub struct Line<'a> {
    buf: &'a mut String,
    fields: usize,
}

impl Line<'_> {
    fn sep(&mut self) {
        if self.fields > 0 {
            self.buf.push('\t');
        }
        self.fields += 1;
    }

    fn display(&mut self, value: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        self.sep();
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "{value}");
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.push_str("\\N");
        self
    }

    pub fn id(&mut self, v: Id) -> &mut Self {
        self.display(v)
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.display(v)
    }

    pub fn boolean(&mut self, v: bool) -> &mut Self {
        self.sep();
        self.buf.push(if v { 't' } else { 'f' });
        self
    }

    pub fn date(&mut self, v: Date) -> &mut Self {
        self.display(v)
    }

    pub fn timestamp(&mut self, v: Timestamp) -> &mut Self {
        self.display(v)
    }

    /// A fixed-point decimal held as an integer count of 10^-places, e.g. (1234, 2) -> `12.34`, so
    /// numeric and double precision values print exactly.
    pub fn decimal(&mut self, v: i64, places: u32) -> &mut Self {
        let unit = 10i64.pow(places);
        let sign = if v < 0 { "-" } else { "" };
        let (whole, frac) = (v.abs() / unit, v.abs() % unit);
        self.display(format_args!("{sign}{whole}.{frac:0width$}", width = places as usize))
    }

    pub fn text(&mut self, v: &str) -> &mut Self {
        self.sep();
        for c in v.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    pub fn opt_id(&mut self, v: Option<Id>) -> &mut Self {
        match v {
            Some(v) => self.id(v),
            None => self.null(),
        }
    }

    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn opt_decimal(&mut self, v: Option<i64>, places: u32) -> &mut Self {
        match v {
            Some(v) => self.decimal(v, places),
            None => self.null(),
        }
    }

    pub fn opt_date(&mut self, v: Option<Date>) -> &mut Self {
        match v {
            Some(v) => self.date(v),
            None => self.null(),
        }
    }

    pub fn opt_timestamp(&mut self, v: Option<Timestamp>) -> &mut Self {
        match v {
            Some(v) => self.timestamp(v),
            None => self.null(),
        }
    }

    pub fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sample;

    impl Row for Sample {
        const TABLE: &'static str = "s.t";
        const COLUMNS: &'static [&'static str] = &["a", "b", "c", "d", "e", "f"];
        fn write(&self, w: &mut Line<'_>) {
            w.text("tab\there\\").null().decimal(-1205, 2).decimal(15, 1).boolean(true).date(Date::ymd(2026, 1, 2));
        }
    }

    #[test]
    fn encodes_copy_text_with_escapes_and_nulls() {
        let mut buf = String::new();
        vec![Sample, Sample].encode(1..2, &mut buf);
        assert_eq!(buf, "tab\\there\\\\\t\\N\t-12.05\t1.5\tt\t2026-01-02\n");
    }
}
