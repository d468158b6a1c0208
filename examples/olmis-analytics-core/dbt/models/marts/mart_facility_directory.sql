-- One row per facility: identity, type, status, place in the geographic hierarchy (zone, district,
-- region, country) and the programs it actively supports.
WITH programs AS (
    SELECT
        sp.facilityid AS facility_id,
        countIf(sp.active) AS active_program_count,
        arrayStringConcat(arraySort(groupArrayIf(p.code, sp.active)), ', ') AS active_program_codes
    FROM {{ ref('stg_supported_programs') }} AS sp
    LEFT JOIN {{ ref('stg_programs') }} AS p ON p.id = sp.programid
    GROUP BY sp.facilityid
)

SELECT
    f.id AS facility_id,
    f.code AS facility_code,
    f.name AS facility_name,
    t.code AS facility_type_code,
    t.name AS facility_type_name,
    f.active AS is_active,
    f.enabled AS is_enabled,
    f.golivedate AS go_live_date,
    f.godowndate AS go_down_date,
    f.geographiczoneid AS geographic_zone_id,
    z.zone_name AS geographic_zone_name,
    z.zone_level AS geographic_zone_level,
    z.district_id,
    z.district_name,
    z.region_id,
    z.region_name,
    z.country_name,
    ifNull(p.active_program_count, 0) AS active_program_count,
    ifNull(p.active_program_codes, '') AS active_program_codes
FROM {{ ref('stg_facilities') }} AS f
LEFT JOIN {{ ref('stg_facility_types') }} AS t ON t.id = f.typeid
LEFT JOIN {{ ref('int_zone_hierarchy') }} AS z ON z.zone_id = f.geographiczoneid
LEFT JOIN programs AS p ON p.facility_id = f.id
