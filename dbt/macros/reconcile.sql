{#-
  Generic test: the model holds the same rows as a source PostgreSQL table, compared by row count
  and by a checksum of the keys (the sum of a hash of each row's key values as text).

    data_tests:
      - olmis_reconcile:
          source_table: referencedata.facilities   # schema.table in the source database
          keys: [facility_id]                      # key columns of the model
          source_keys: [id]                        # the same keys in the source (default: keys)
          source_where: "active"                   # optional filter on the source rows
          distinct: false                          # true: compare distinct source key values

  ClickHouse reads the source through its postgresql() table function and the named collection
  var('olmis_source_collection'), which olmisctl keeps up to date from SOURCE_PG_* before every
  run: the password never appears in compiled SQL, dbt's logs or ClickHouse's query log. The
  database is var('olmis_source_database') (SOURCE_PG_DB).

  Fails with one row naming both counts and checksums when they differ. A source that keeps
  changing while CDC catches up can differ for a moment, hence the default severity warn.
-#}
{% test olmis_reconcile(model, source_table, keys, source_keys=none, source_where=none, distinct=false) %}
  {{ config(severity='warn') }}
  {%- set parts = source_table.split('.') -%}
  {%- if parts | length != 2 -%}
    {{ exceptions.raise_compiler_error("olmis_reconcile: source_table must be schema.table, got '" ~ source_table ~ "'") }}
  {%- endif -%}
  {%- set source_keys = source_keys or keys -%}
  {%- if source_keys | length != keys | length -%}
    {{ exceptions.raise_compiler_error("olmis_reconcile: keys and source_keys must have the same length") }}
  {%- endif -%}
WITH
  curated AS (
    SELECT count() AS row_count, sum({{ _olmis_key_hash(keys) }}) AS key_checksum
    FROM {{ model }}
  ),
  source AS (
    SELECT count() AS row_count, sum({{ _olmis_key_hash(source_keys) }}) AS key_checksum
    FROM (
      SELECT {{ 'DISTINCT' if distinct }} {{ source_keys | join(', ') }}
      FROM postgresql({{ var('olmis_source_collection', 'olmis_source_curated') }},
                      database = '{{ var('olmis_source_database', 'open_lmis') }}',
                      schema = '{{ parts[0] }}', table = '{{ parts[1] }}')
      {%- if source_where %}
      WHERE {{ source_where }}
      {%- endif %}
    )
  )
SELECT
  curated.row_count AS curated_rows,
  source.row_count AS source_rows,
  curated.key_checksum AS curated_key_checksum,
  source.key_checksum AS source_key_checksum
FROM curated CROSS JOIN source
WHERE curated.row_count != source.row_count OR curated.key_checksum != source.key_checksum
{% endtest %}

{#- A hash of a row's key values as text, so a UUID or an integer hashes alike on both sides. -#}
{% macro _olmis_key_hash(keys) -%}
  cityHash64({%- for key in keys -%}toString({{ key }}){{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}
