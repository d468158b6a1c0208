-- Each geographic zone with its district, region and country: the zone itself or the ancestor at
-- level 3, 2 and 1. OpenLMIS hierarchies are at most four levels deep (country, region, district,
-- city), so three parent hops reach the top.
{%- set ancestors = ['z0', 'z1', 'z2', 'z3'] %}

WITH zones AS (
    SELECT z.id, z.code, z.name, z.parentid, l.levelnumber
    FROM {{ ref('stg_geographic_zones') }} AS z
    LEFT JOIN {{ ref('stg_geographic_levels') }} AS l ON l.id = z.levelid
)

SELECT
    z0.id AS zone_id,
    z0.code AS zone_code,
    z0.name AS zone_name,
    z0.levelnumber AS zone_level
    {%- for level, label in [(3, 'district'), (2, 'region'), (1, 'country')] %}
    {%- for column in ['id', 'code', 'name'] %},
    multiIf(
        {%- for z in ancestors %}
        {{ z }}.levelnumber = {{ level }}, {{ z }}.{{ column }},
        {%- endfor %}
        NULL) AS {{ label }}_{{ column }}
    {%- endfor %}
    {%- endfor %}
FROM zones AS z0
LEFT JOIN zones AS z1 ON z1.id = z0.parentid
LEFT JOIN zones AS z2 ON z2.id = z1.parentid
LEFT JOIN zones AS z3 ON z3.id = z2.parentid
