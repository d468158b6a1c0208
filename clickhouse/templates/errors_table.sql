-- raw.errors: every message of any topic that could not be landed as an event, kept verbatim with
-- the reason, so nothing is silently dropped. Shared by all topics.
CREATE TABLE IF NOT EXISTS {{raw}}.errors{{on_cluster}}
(
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64,
    raw_message     String,
    error           String,
    ingested_at     DateTime64(3) DEFAULT now64(3)
)
ENGINE = {{merge_tree}}
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (kafka_topic, kafka_partition, kafka_offset)
{{ttl}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
