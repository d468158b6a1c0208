{#-
  The day point-in-time marts are computed for (stock on hand, stock status, stockouts, reporting
  rates), as a Date32 expression: var('olmis_as_of_date') (YYYY-MM-DD, from DBT_AS_OF_DATE), or
  today's date in ClickHouse's time zone when it is empty.
-#}
{% macro olmis_as_of_date() -%}
  {%- set value = var('olmis_as_of_date', '') | string | trim -%}
  {%- if value == '' or value == 'None' -%}
    today()
  {%- elif modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
    toDate32('{{ value }}')
  {%- else -%}
    {{ exceptions.raise_compiler_error("var olmis_as_of_date (DBT_AS_OF_DATE) must be a date as YYYY-MM-DD, got '" ~ value ~ "'") }}
  {%- endif -%}
{%- endmacro %}
