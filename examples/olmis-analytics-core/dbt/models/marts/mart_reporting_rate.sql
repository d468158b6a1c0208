-- Reporting rate and timeliness per program, period and geographic zone, for periods that ended
-- on or before the as-of date.
--
-- Expected: an active facility that actively supports the program (from the support's start
-- date) and belongs to a requisition group with a schedule for the program expects one regular
-- requisition per period of that schedule. Reported: a regular (not emergency) requisition for
-- that facility, program and period was submitted (it has a SUBMITTED status change, or a status
-- past submission). On time: submitted at most olmis_core_reporting_due_days after the period end.
{%- set as_of = olmis_as_of_date() %}
{%- set due_days = var('olmis_core_reporting_due_days') | int %}

WITH expected AS (
    SELECT DISTINCT
        sp.facilityid AS facility_id,
        sp.programid AS program_id,
        pp.id AS processing_period_id
    FROM {{ ref('stg_supported_programs') }} AS sp
    INNER JOIN {{ ref('stg_facilities') }} AS f ON f.id = sp.facilityid
    INNER JOIN {{ ref('stg_requisition_group_members') }} AS m ON m.facilityid = sp.facilityid
    INNER JOIN {{ ref('stg_requisition_group_program_schedules') }} AS g
        ON g.requisitiongroupid = m.requisitiongroupid AND g.programid = sp.programid
    INNER JOIN {{ ref('stg_processing_periods') }} AS pp ON pp.processingscheduleid = g.processingscheduleid
    WHERE sp.active
      AND f.active
      AND pp.enddate <= {{ as_of }}
      AND (sp.startdate IS NULL OR pp.enddate >= sp.startdate)
),

submitted AS (
    SELECT
        requisitionid AS requisition_id,
        minIf(createddate, status = 'SUBMITTED') AS submitted_at
    FROM {{ ref('stg_status_changes') }}
    GROUP BY requisitionid
),

reports AS (
    SELECT
        r.facilityid AS facility_id,
        r.programid AS program_id,
        r.processingperiodid AS processing_period_id,
        min(s.submitted_at) AS submitted_at
    FROM {{ ref('stg_requisitions') }} AS r
    LEFT JOIN submitted AS s ON s.requisition_id = r.id
    WHERE NOT r.emergency
      AND (s.submitted_at IS NOT NULL
           OR r.status IN ('SUBMITTED', 'AUTHORIZED', 'IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_WITHOUT_ORDER'))
    GROUP BY r.facilityid, r.programid, r.processingperiodid
),

per_facility AS (
    SELECT
        e.facility_id AS facility_id,
        e.program_id AS program_id,
        e.processing_period_id AS processing_period_id,
        rep.facility_id IS NOT NULL AS reported,
        rep.submitted_at IS NOT NULL
            AND toDate32(rep.submitted_at) <= pp.enddate + {{ due_days }} AS on_time
    FROM expected AS e
    LEFT JOIN reports AS rep
        ON rep.facility_id = e.facility_id
        AND rep.program_id = e.program_id
        AND rep.processing_period_id = e.processing_period_id
    LEFT JOIN {{ ref('stg_processing_periods') }} AS pp ON pp.id = e.processing_period_id
)

SELECT
    pf.program_id,
    any(p.code) AS program_code,
    pf.processing_period_id,
    any(pp.name) AS period_name,
    any(pp.startdate) AS period_start_date,
    any(pp.enddate) AS period_end_date,
    f.geographic_zone_id,
    any(f.geographic_zone_name) AS geographic_zone_name,
    any(f.district_name) AS district_name,
    any(f.region_id) AS region_id,
    any(f.region_name) AS region_name,
    count() AS expected_reports,
    countIf(pf.reported) AS reported,
    countIf(pf.on_time) AS reported_on_time,
    round(countIf(pf.reported) / count(), 4) AS reporting_rate,
    round(countIf(pf.on_time) / count(), 4) AS timeliness_rate
FROM per_facility AS pf
LEFT JOIN {{ ref('mart_facility_directory') }} AS f ON f.facility_id = pf.facility_id
LEFT JOIN {{ ref('stg_programs') }} AS p ON p.id = pf.program_id
LEFT JOIN {{ ref('stg_processing_periods') }} AS pp ON pp.id = pf.processing_period_id
GROUP BY pf.program_id, pf.processing_period_id, f.geographic_zone_id
