-- raw.kafka_<t>: the Kafka consumer of one topic. It stores nothing; views read from it.
-- - One consumer group per table; the group's committed offsets are the landing's position, so
--   the group name must never change for an existing table (`--migrate` keeps it).
-- - RawBLOB hands over each message whole, one row per message whatever it holds, so every
--   message is judged (and a bad one kept) by raw.parsed_<t>_mv; a JSON format would turn `[]`
--   into no row at all and one message with two objects into two rows. Should reading still fail,
--   the `stream` error mode passes the message on with `_error` set instead of stopping the
--   consumer. Tombstones (null values after deletes) and empty messages produce no row.
-- - Latency (benches/freshness.sh, 22 landed topics, commit in PostgreSQL to row here): flushing
--   every 500 ms, polling for 100 ms and rescheduling an idle consumer after 100 ms gave p50 0.4 s,
--   p99 1.0 s. The defaults (7500/500/500) gave p50 3.8 s, p99 7.6 s; 250/50/50 saved 0.15 s at the
--   median for 1.7 times the idle CPU (16% of a core for 22 idle topics instead of 10%).
CREATE TABLE IF NOT EXISTS {{raw}}.kafka_{{t}}{{on_cluster}}
(
    message String
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = {{brokers}},
    kafka_topic_list = {{topic}},
    kafka_group_name = {{group}},
    kafka_format = 'RawBLOB',
    kafka_handle_error_mode = 'stream',
    kafka_num_consumers = 1,
    kafka_flush_interval_ms = 500,
    kafka_poll_timeout_ms = 100,
    kafka_consumer_reschedule_ms = 100
