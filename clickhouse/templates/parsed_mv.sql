-- raw.parsed_<t>_mv: the switch of the topic's landing. The Kafka engine starts consuming as soon
-- as one view reads its table, so this view is created last (when both outputs below already
-- exist) and dropped first: no message can pass while only one of them is in place.
-- Each message is checked against the Debezium envelope (JsonConverter, schemas disabled); the
-- first failed check becomes `error`. No expression here may throw: a throwing row would stop the
-- consumer on that message forever.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{raw}}.parsed_{{t}}_mv{{on_cluster}} TO {{raw}}.parsed_{{t}}
AS
WITH JSONExtractString(message, 'op') AS envelope_op
SELECT
    _topic AS kafka_topic,
    toInt32(_partition) AS kafka_partition,
    toInt64(_offset) AS kafka_offset,
    _key AS kafka_key,
    ifNull(_timestamp_ms, toDateTime64(0, 3)) AS kafka_ts,
    envelope_op AS op,
    JSONExtractInt(message, 'source', 'ts_ms') AS source_ts_ms,
    JSONExtractUInt(message, 'source', 'lsn') AS lsn,
    if(JSONType(message, 'before') = 'Object', JSONExtractRaw(message, 'before'), '') AS before,
    if(JSONType(message, 'after') = 'Object', JSONExtractRaw(message, 'after'), '') AS after,
    multiIf(
        _error != '', replaceRegexpOne(_error, '[:\\s]*\\(at row \\d+\\)\\s*$', ''),
        NOT isValidJSON(message), 'not valid JSON',
        JSONType(message) != 'Object', 'not a JSON object',
        JSONHas(message, 'schema') AND JSONHas(message, 'payload'),
            'envelope wrapped in schema/payload: the connector must use schemas.enable=false',
        envelope_op NOT IN ('r', 'c', 'u', 'd'),
            concat('unsupported op ', if(envelope_op = '', '(missing)', concat('"', envelope_op, '"'))),
        JSONType(message, 'source', 'lsn') NOT IN ('Int64', 'UInt64'), 'source.lsn is missing',
        JSONType(message, 'source', 'ts_ms') NOT IN ('Int64', 'UInt64'), 'source.ts_ms is missing',
        envelope_op = 'd' AND JSONType(message, 'before') != 'Object', 'delete without a before image',
        envelope_op != 'd' AND JSONType(message, 'after') != 'Object', concat('op ', envelope_op, ' without an after image'),
        ''
    ) AS error,
    if(error = '', '', if(_error != '', _raw_message, message)) AS raw_message
FROM {{raw}}.kafka_{{t}}
-- a row with neither message nor error would be an empty message: nothing to land, nothing wrong
WHERE NOT (_error = '' AND message = '')
