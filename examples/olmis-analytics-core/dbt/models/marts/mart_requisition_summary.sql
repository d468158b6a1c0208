-- One row per requisition: where and what for, its status and when it reached each approval step
-- (first time, from the status history), and totals over the line items that were not skipped.
WITH line_totals AS (
    SELECT
        requisitionid AS requisition_id,
        countIf(NOT skipped) AS line_item_count,
        sumIf(requestedquantity, NOT skipped) AS total_requested_quantity,
        sumIf(approvedquantity, NOT skipped) AS total_approved_quantity,
        sumIf(totalcost, NOT skipped) AS total_cost
    FROM {{ ref('stg_requisition_line_items') }}
    GROUP BY requisitionid
),

steps AS (
    SELECT
        requisitionid AS requisition_id,
        minIf(createddate, status = 'SUBMITTED') AS submitted_at,
        minIf(createddate, status = 'AUTHORIZED') AS authorized_at,
        minIf(createddate, status = 'APPROVED') AS approved_at
    FROM {{ ref('stg_status_changes') }}
    GROUP BY requisitionid
)

SELECT
    r.id AS requisition_id,
    r.facilityid AS facility_id,
    f.facility_code,
    f.facility_name,
    f.district_name,
    f.region_id,
    f.region_name,
    r.programid AS program_id,
    p.code AS program_code,
    p.name AS program_name,
    r.processingperiodid AS processing_period_id,
    pp.name AS period_name,
    pp.startdate AS period_start_date,
    pp.enddate AS period_end_date,
    r.status,
    r.emergency AS is_emergency,
    r.createddate AS created_at,
    r.modifieddate AS modified_at,
    steps.submitted_at,
    steps.authorized_at,
    steps.approved_at,
    dateDiff('day', pp.enddate, toDate32(steps.submitted_at)) AS days_from_period_end_to_submission,
    ifNull(line_totals.line_item_count, 0) AS line_item_count,
    ifNull(line_totals.total_requested_quantity, 0) AS total_requested_quantity,
    ifNull(line_totals.total_approved_quantity, 0) AS total_approved_quantity,
    ifNull(line_totals.total_cost, 0) AS total_cost
FROM {{ ref('stg_requisitions') }} AS r
LEFT JOIN line_totals ON line_totals.requisition_id = r.id
LEFT JOIN steps ON steps.requisition_id = r.id
LEFT JOIN {{ ref('mart_facility_directory') }} AS f ON f.facility_id = r.facilityid
LEFT JOIN {{ ref('stg_programs') }} AS p ON p.id = r.programid
LEFT JOIN {{ ref('stg_processing_periods') }} AS pp ON pp.id = r.processingperiodid
