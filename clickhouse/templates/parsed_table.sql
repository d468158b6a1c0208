-- raw.parsed_<t>: each message of the topic, parsed once and classified (`error` is '' for a good
-- Debezium event). Engine Null: rows pass through to the views reading it and are not stored.
CREATE TABLE IF NOT EXISTS {{raw}}.parsed_{{t}}{{on_cluster}}
(
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64,
    kafka_key       String,
    kafka_ts        DateTime64(3),
    op              LowCardinality(String),
    source_ts_ms    Int64,
    lsn             UInt64,
    before          String,
    after           String,
    raw_message     String,
    error           String
)
ENGINE = Null
