-- raw.errors_<t>_mv: messages that are not Debezium events into the shared raw.errors.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{raw}}.errors_{{t}}_mv{{on_cluster}} TO {{raw}}.errors
AS
SELECT kafka_topic, kafka_partition, kafka_offset, raw_message, error
FROM {{raw}}.parsed_{{t}}
WHERE error != ''
