{#-
  Typed values from Debezium JSON (JsonConverter, schemas disabled), as ClickHouse expressions.

  Each macro takes `doc`, an SQL expression holding a row image (the `after` or `before` text of a
  raw event), and `field`, a column name of the source table. A missing field or a JSON null gives
  NULL; so does a value that doesn't parse as the type, rather than failing the whole build on one
  bad event (the reconciliation test then notices the difference).

  Encodings handled (see the platform's Debezium settings):
  - date: days since 1970-01-01 (an ISO string is accepted too);
  - timestamp: epoch milliseconds for `timestamp`, or an ISO-8601 string for `timestamptz`;
    unit='us' reads epoch microseconds (time.precision.mode=adaptive on timestamp(6));
  - numeric: decimal.handling.mode=string gives a string; a plain JSON number is accepted too;
  - boolean, integers, floats, text and uuid as JSON scalars; jsonb as text.
-#}

{% macro olmis_json_string(doc, field) -%}
  JSONExtract({{ doc }}, '{{ field }}', 'Nullable(String)')
{%- endmacro %}

{% macro olmis_json_uuid(doc, field) -%}
  toUUIDOrNull({{ olmis_json_string(doc, field) }})
{%- endmacro %}

{% macro olmis_json_int(doc, field, bits=32) -%}
  JSONExtract({{ doc }}, '{{ field }}', 'Nullable(Int{{ bits }})')
{%- endmacro %}

{% macro olmis_json_float(doc, field) -%}
  JSONExtract({{ doc }}, '{{ field }}', 'Nullable(Float64)')
{%- endmacro %}

{% macro olmis_json_bool(doc, field) -%}
  JSONExtract({{ doc }}, '{{ field }}', 'Nullable(Bool)')
{%- endmacro %}

{#- Decimal(38, scale). The raw JSON text is "12.50" (string mode) or 12.5 (number): strip quotes. -#}
{% macro olmis_json_decimal(doc, field, scale) -%}
  toDecimal128OrNull(nullIf(trim(BOTH '"' FROM JSONExtractRaw({{ doc }}, '{{ field }}')), 'null'), {{ scale }})
{%- endmacro %}

{% macro olmis_json_date(doc, field) -%}
  if(JSONType({{ doc }}, '{{ field }}') = 'String',
     toDate32OrNull(JSONExtractString({{ doc }}, '{{ field }}')),
     toDate32(JSONExtract({{ doc }}, '{{ field }}', 'Nullable(Int32)')))
{%- endmacro %}

{#- DateTime64(6, 'UTC') from epoch ms/us (timestamp) or an ISO-8601 string (timestamptz). -#}
{% macro olmis_json_timestamp(doc, field, unit='ms') -%}
  {%- if unit not in ['ms', 'us'] -%}
    {{ exceptions.raise_compiler_error("olmis_json_timestamp: unit must be 'ms' or 'us', got '" ~ unit ~ "'") }}
  {%- endif -%}
  if(JSONType({{ doc }}, '{{ field }}') = 'String',
     parseDateTime64BestEffortOrNull(JSONExtractString({{ doc }}, '{{ field }}'), 6, 'UTC'),
     toDateTime64({{ 'fromUnixTimestamp64Milli' if unit == 'ms' else 'fromUnixTimestamp64Micro' }}(
       JSONExtract({{ doc }}, '{{ field }}', 'Nullable(Int64)'), 'UTC'), 6, 'UTC'))
{%- endmacro %}

{#- jsonb arrives as a string holding the JSON text; json keeps it as text either way. -#}
{% macro olmis_json_text(doc, field) -%}
  if(JSONType({{ doc }}, '{{ field }}') = 'String',
     JSONExtract({{ doc }}, '{{ field }}', 'Nullable(String)'),
     nullIf(JSONExtractRaw({{ doc }}, '{{ field }}'), ''))
{%- endmacro %}

{#-
  One typed value by type name, the vocabulary of olmis_current_state's `columns`:
  uuid, string, int, bigint, float, bool, date, timestamp, timestamp_us, json, decimal(P,S).
-#}
{% macro olmis_json_value(doc, field, type) -%}
  {%- set t = type | lower | replace(' ', '') -%}
  {%- if t == 'uuid' -%}{{ olmis_json_uuid(doc, field) }}
  {%- elif t == 'string' -%}{{ olmis_json_string(doc, field) }}
  {%- elif t == 'int' -%}{{ olmis_json_int(doc, field, 32) }}
  {%- elif t == 'bigint' -%}{{ olmis_json_int(doc, field, 64) }}
  {%- elif t == 'float' -%}{{ olmis_json_float(doc, field) }}
  {%- elif t == 'bool' -%}{{ olmis_json_bool(doc, field) }}
  {%- elif t == 'date' -%}{{ olmis_json_date(doc, field) }}
  {%- elif t == 'timestamp' -%}{{ olmis_json_timestamp(doc, field, 'ms') }}
  {%- elif t == 'timestamp_us' -%}{{ olmis_json_timestamp(doc, field, 'us') }}
  {%- elif t == 'json' -%}{{ olmis_json_text(doc, field) }}
  {%- elif t.startswith('decimal(') and t.endswith(')') and t[8:-1].split(',') | length == 2 -%}
    {{ olmis_json_decimal(doc, field, t[8:-1].split(',')[1] | int) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("column '" ~ field ~ "': unknown type '" ~ type ~ "'; expected one of uuid, string, int, bigint, float, bool, date, timestamp, timestamp_us, json, decimal(P,S)") }}
  {%- endif -%}
{%- endmacro %}
