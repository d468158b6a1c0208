-- raw.kafka_<t>: the Kafka consumer of one topic. It stores nothing; views read from it.
-- - One consumer group per table; the group's committed offsets are the landing's position, so
--   the group name must never change for an existing table (`--migrate` keeps it).
-- - JSONAsString keeps each message whole (parsed in raw.parsed_<t>_mv); with the `stream` error
--   mode a message that is not a JSON object comes out with `_error`/`_raw_message` set instead of
--   stopping the consumer. Tombstones (null values after deletes) produce no row at all.
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
    kafka_format = 'JSONAsString',
    kafka_handle_error_mode = 'stream',
    kafka_num_consumers = 1,
    kafka_flush_interval_ms = 500,
    kafka_poll_timeout_ms = 100,
    kafka_consumer_reschedule_ms = 100
