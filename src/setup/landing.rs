//! Has the initial snapshot landed? (pure). Debezium reads every row of every captured table once
//! (`op = r`), and ClickHouse lands each event in `raw.events_<table>`. A table has landed when
//! its raw events are at least as many as the rows the source holds; the whole snapshot has landed
//! when Debezium has finished reading and every table has.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableLanding {
    /// `schema.table`.
    pub table: String,
    /// Rows in the source now.
    pub source_rows: u64,
    /// Events in `raw.events_<schema>_<table>`.
    pub landed: u64,
}

impl TableLanding {
    pub fn done(&self) -> bool {
        self.landed >= self.source_rows
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Landing {
    /// Debezium has finished its snapshot and streams changes.
    pub streaming: bool,
    pub tables: Vec<TableLanding>,
}

impl Landing {
    pub fn done(&self) -> bool {
        self.streaming && self.tables.iter().all(TableLanding::done)
    }

    /// Events landed in all tables.
    pub fn events(&self) -> u64 {
        self.tables.iter().map(|t| t.landed).sum()
    }

    /// Tables landed so far, out of all of them.
    pub fn counts(&self) -> (usize, usize) {
        (self.tables.iter().filter(|t| t.done()).count(), self.tables.len())
    }

    /// One line for a progress display: how far along, and the table furthest behind.
    pub fn describe(&self) -> String {
        let (done, total) = self.counts();
        let behind = self
            .tables
            .iter()
            .filter(|t| !t.done())
            .max_by_key(|t| t.source_rows.saturating_sub(t.landed))
            .map(|t| format!("; {} at {} of {} rows", t.table, t.landed, t.source_rows))
            .unwrap_or_default();
        let debezium = if self.streaming { "" } else { "; Debezium still reading" };
        format!("{done}/{total} tables landed{behind}{debezium}")
    }

    /// Tables that are done now but were not in `before`: each gets its own line once.
    pub fn newly_done<'a>(&'a self, before: &'a Landing) -> impl Iterator<Item = &'a TableLanding> {
        self.tables.iter().filter(|t| t.done() && !before.tables.iter().any(|b| b.table == t.table && b.done()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, source_rows: u64, landed: u64) -> TableLanding {
        TableLanding { table: name.into(), source_rows, landed }
    }

    #[test]
    fn done_needs_debezium_streaming_and_every_table_landed() {
        let mut l = Landing { streaming: false, tables: vec![table("a.x", 10, 10), table("a.empty", 0, 0)] };
        assert!(!l.done(), "Debezium still reading");
        l.streaming = true;
        assert!(l.done());
        l.tables.push(table("a.y", 100, 40));
        assert!(!l.done());
        assert_eq!(l.counts(), (2, 3));
        assert_eq!(l.describe(), "2/3 tables landed; a.y at 40 of 100 rows");
    }

    #[test]
    fn updates_after_the_snapshot_count_as_landed_and_tables_are_announced_once() {
        let before = Landing { streaming: true, tables: vec![table("a.x", 10, 4), table("a.y", 5, 5)] };
        let after = Landing { streaming: true, tables: vec![table("a.x", 10, 12), table("a.y", 5, 5)] };
        let new: Vec<&str> = after.newly_done(&before).map(|t| t.table.as_str()).collect();
        assert_eq!(new, vec!["a.x"]);
        assert_eq!(after.describe(), "2/2 tables landed");
    }
}
