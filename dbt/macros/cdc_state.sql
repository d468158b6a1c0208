{#-
  The current state of a source table, derived from its raw event log `raw.events_<schema>_<table>`
  (one row per Debezium event: op r/c/u/d, lsn, kafka_offset, before/after JSON text).

  The rule, shared by every package: per primary key, the event with the greatest
  (lsn, kafka_offset) wins; the row exists if that event is not a delete. Key values are read from
  the event's row image: `after`, or `before` for a delete (Debezium's before-image always carries
  the primary key, whatever the table's REPLICA IDENTITY). Keys are grouped on their raw JSON text,
  so uuid, integer and text keys all work, and composite keys are lists of columns.

  Arguments of both macros:
  - events:  the raw events relation, e.g. source('openlmis', 'events_referencedata_facilities');
  - keys:    primary key columns, e.g. ['id'] or ['id', 'versionnumber'];
  - columns: mapping of column name to type, in output order, keys included, e.g.
             {'id': 'uuid', 'code': 'string', 'startdate': 'date', 'priceperpack': 'decimal(19,2)'}
             (types: see olmis_json_value). Key columns come out non-nullable, the others Nullable.
-#}

{#- The JSON text of the row an event describes. -#}
{% macro olmis_event_row() -%}
  if(op = 'd', before, after)
{%- endmacro %}

{#- Events that describe a row: a known op, and every key field present in the row image. -#}
{% macro _olmis_describes_a_row(keys) -%}
  op IN ('r', 'c', 'u', 'd')
  {%- for key in keys %}
  AND JSONType({{ olmis_event_row() }}, '{{ key }}') != 'Null'
  {%- endfor %}
{%- endmacro %}

{% macro _olmis_group_by_keys(keys) -%}
  {%- for key in keys -%}
  JSONExtractRaw({{ olmis_event_row() }}, '{{ key }}'){{ ", " if not loop.last }}
  {%- endfor -%}
{%- endmacro %}

{% macro _olmis_check_spec(keys, columns) -%}
  {%- if keys is string or keys | length == 0 -%}
    {{ exceptions.raise_compiler_error("keys must be a non-empty list of column names, e.g. ['id']") }}
  {%- endif -%}
  {%- if columns is not mapping -%}
    {{ exceptions.raise_compiler_error("columns must be a mapping of column name to type, e.g. {'id': 'uuid'}") }}
  {%- endif -%}
  {%- for key in keys -%}
    {%- if key not in columns -%}
      {{ exceptions.raise_compiler_error("key column '" ~ key ~ "' is missing from columns") }}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}

{#- The typed select list, reading each column from the row image `doc`. -#}
{% macro _olmis_typed_columns(doc, keys, columns) -%}
  {%- for name, type in columns.items() %}
    {% if name in keys -%}
    assumeNotNull({{ olmis_json_value(doc, name, type) }}) AS {{ name }}
    {%- else -%}
    {{ olmis_json_value(doc, name, type) }} AS {{ name }}
    {%- endif %}{{ "," if not loop.last }}
  {%- endfor %}
{%- endmacro %}

{#-
  The rows the table holds now, recomputed from the whole event log: for small tables, built as
  plain `table` models.
-#}
{% macro olmis_current_state(events, keys, columns) -%}
  {{- _olmis_check_spec(keys, columns) -}}
SELECT
  {{- _olmis_typed_columns('_row', keys, columns) }}
FROM (
  SELECT
    argMax(op, (lsn, kafka_offset)) AS _op,
    argMax({{ olmis_event_row() }}, (lsn, kafka_offset)) AS _row
  FROM {{ events }}
  WHERE {{ _olmis_describes_a_row(keys) }}
  GROUP BY {{ _olmis_group_by_keys(keys) }}
)
WHERE _op != 'd'
{%- endmacro %}

{#-
  Incremental current state, for large tables. The model keeps one version per key and event batch
  in a ReplacingMergeTree; reading it with FINAL (olmis_live_rows) gives the current rows.

  Each run reads only the events ingested since the newest one the model has seen (minus the
  lookback var olmis_cdc_lookback_minutes), keeps the latest per key, and appends it with
  _version = (lsn, kafka_offset) packed into a UInt128 and _deleted = 1 for a delete. The engine
  keeps the highest version per key whatever the arrival order, so a late event with an older
  position never overwrites a newer one, a delete hides the key, and re-reading the lookback window
  is harmless (same key, same version). `--full-refresh` rebuilds from the whole log.

  The model must be configured as:
    config(materialized='incremental', engine='ReplacingMergeTree(_version, _deleted)', order_by=<keys>)
-#}
{% macro olmis_cdc_versions(events, keys, columns) -%}
  {{- _olmis_check_spec(keys, columns) -}}
  {%- set engine = config.get('engine', '') | replace(' ', '') -%}
  {#- config is only complete at execution; parsing sees defaults -#}
  {%- if execute and (config.get('materialized') != 'incremental' or engine != 'ReplacingMergeTree(_version,_deleted)') -%}
    {{ exceptions.raise_compiler_error(
        "olmis_cdc_versions needs config(materialized='incremental', engine='ReplacingMergeTree(_version, _deleted)', order_by=...) in model " ~ this) }}
  {%- endif -%}
SELECT
  {{- _olmis_typed_columns('_row', keys, columns) }},
  toUInt8(_op = 'd') AS _deleted,
  bitOr(bitShiftLeft(toUInt128(_position.1), 64), toUInt128(_position.2)) AS _version,
  _ingested_at
FROM (
  SELECT
    argMax(op, (lsn, kafka_offset)) AS _op,
    argMax({{ olmis_event_row() }}, (lsn, kafka_offset)) AS _row,
    max((lsn, kafka_offset)) AS _position,
    max(ingested_at) AS _ingested_at
  FROM {{ events }}
  WHERE {{ _olmis_describes_a_row(keys) }}
  {%- if is_incremental() %}
    AND ingested_at >= (SELECT max(_ingested_at) FROM {{ this }})
                       - INTERVAL {{ var('olmis_cdc_lookback_minutes', 10) | int }} MINUTE
  {%- endif %}
  GROUP BY {{ _olmis_group_by_keys(keys) }}
)
{%- endmacro %}

{#-
  The live rows of an olmis_cdc_versions model. FINAL keeps the highest _version per key and drops
  the key when that version has _deleted = 1 (ReplacingMergeTree's is_deleted column).
-#}
{% macro olmis_live_rows(versions) -%}
SELECT * EXCEPT (_deleted, _version, _ingested_at)
FROM {{ versions }} FINAL
{%- endmacro %}
