-- raw.events_<t>_mv: good events into the event log.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{raw}}.events_{{t}}_mv{{on_cluster}} TO {{raw}}.events_{{t}}
AS
SELECT
    kafka_topic, kafka_partition, kafka_offset, kafka_key, kafka_ts,
    op, source_ts_ms, lsn, 'cdc' AS origin, before, after
FROM {{raw}}.parsed_{{t}}
WHERE error = ''
