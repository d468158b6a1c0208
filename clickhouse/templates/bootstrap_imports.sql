-- <raw>.bootstrap_imports: the ledger of `olmisctl bootstrap import`, one row per chunk file of an
-- export once its rows are in raw.events_<t>. A second import of the same export skips what is
-- here; an interrupted one resumes at the first chunk missing. Created by the first import.
CREATE TABLE IF NOT EXISTS {{table}}{{on_cluster}}
(
    export_id    String,
    source_table String,                 -- schema.table
    event_lsn    UInt64,                 -- the export's position: the lsn its events carry
    chunk        UInt32,                 -- index of the chunk file in the export's manifest
    filter       String,                 -- the --since/--until range, '' for all rows
    rows         UInt64,
    imported_at  DateTime64(3) DEFAULT now64(3)
)
ENGINE = {{merge_tree}}
ORDER BY (source_table, event_lsn, chunk)
