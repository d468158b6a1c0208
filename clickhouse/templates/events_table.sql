-- raw.events_<t>: the immutable event log of one captured table, one row per Debezium event.
-- These columns are the raw-layer contract that dbt models and other tools read: keep them exactly.
-- Append-only. Sorted by row key, then event position (lsn, kafka_offset), so the history of one
-- source row is one contiguous range to replay. Partitioned by landing month so that a TTL
-- (RAW_TTL_DAYS) drops whole parts instead of rewriting them.
CREATE TABLE IF NOT EXISTS {{raw}}.events_{{t}}{{on_cluster}}
(
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64,
    kafka_key       String,                 -- the Kafka key: the row's primary key as JSON
    kafka_ts        DateTime64(3),
    op              LowCardinality(String), -- r (snapshot read), c (insert), u (update), d (delete)
    source_ts_ms    Int64,                  -- commit time in PostgreSQL (Debezium source.ts_ms)
    lsn             UInt64,                 -- position in PostgreSQL's WAL (Debezium source.lsn)
    origin          LowCardinality(String), -- 'cdc' (landed from Kafka) or 'bootstrap' (initial load)
    before          String,                 -- row image before the change, JSON text ('' when none)
    after           String,                 -- row image after the change, JSON text ('' when none)
    ingested_at     DateTime64(3) DEFAULT now64(3)
)
ENGINE = {{merge_tree}}
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (kafka_key, lsn, kafka_offset)
{{ttl}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
