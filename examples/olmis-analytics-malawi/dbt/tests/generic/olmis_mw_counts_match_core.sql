{#-
  The regional mart accounts for every row of the core's mart_stock_status exactly once: each
  region's status counts add up to its facility count, and the facility counts add up to the core
  mart's row count. Fails with the offending regions (or a 'total' row).
-#}
{% test olmis_mw_counts_match_core(model) %}
SELECT toString(region_id) AS region, facility_count,
       stocked_out_count + understocked_count + adequate_count + overstocked_count + no_consumption_count AS status_total
FROM {{ model }}
WHERE facility_count != status_total
UNION ALL
SELECT 'total', (SELECT sum(facility_count) FROM {{ model }}), (SELECT count() FROM {{ ref('mart_stock_status') }})
WHERE (SELECT sum(facility_count) FROM {{ model }}) != (SELECT count() FROM {{ ref('mart_stock_status') }})
{% endtest %}
