-- raw.kafka_<t>: the Kafka consumer of one topic. It stores nothing; views read from it.
-- - One consumer group per table; the group's committed offsets are the landing's position, so
--   the group name must never change for an existing table (`--migrate` keeps it).
-- - RawBLOB hands over each message whole, one row per message whatever it holds, so every
--   message is judged (and a bad one kept) by raw.parsed_<t>_mv; a JSON format would turn `[]`
--   into no row at all and one message with two objects into two rows. Should reading still fail,
--   the `stream` error mode passes the message on with `_error` set instead of stopping the
--   consumer. Tombstones (null values after deletes) and empty messages produce no row.
-- - Latency: blocks are flushed every 500 ms instead of every 7.5 s (the default), and an idle
--   consumer polls again after 100 ms; see benches/freshness.sh for the measurements.
CREATE TABLE IF NOT EXISTS raw.kafka_{{t}}{{on_cluster}}
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
