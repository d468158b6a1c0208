-- Consumption as facilities report it on requisitions: one row per requisition line item that was
-- not skipped, with its facility, program, period and product (at the version the line names).
SELECT
    li.id AS requisition_line_item_id,
    r.id AS requisition_id,
    r.facilityid AS facility_id,
    f.facility_code,
    f.facility_name,
    f.district_name,
    f.region_id,
    f.region_name,
    r.programid AS program_id,
    p.code AS program_code,
    r.processingperiodid AS processing_period_id,
    pp.name AS period_name,
    pp.startdate AS period_start_date,
    pp.enddate AS period_end_date,
    li.orderableid AS orderable_id,
    o.code AS product_code,
    o.fullproductname AS product_name,
    r.status AS requisition_status,
    r.emergency AS is_emergency,
    li.nonfullsupply AS is_non_full_supply,
    li.beginningbalance AS beginning_balance,
    li.totalreceivedquantity AS received_quantity,
    li.totalconsumedquantity AS consumed_quantity,
    li.totallossesandadjustments AS losses_and_adjustments,
    li.stockonhand AS stock_on_hand,
    li.totalstockoutdays AS stockout_days,
    li.adjustedconsumption AS adjusted_consumption,
    li.averageconsumption AS average_consumption
FROM {{ ref('stg_requisition_line_items') }} AS li
INNER JOIN {{ ref('stg_requisitions') }} AS r ON r.id = li.requisitionid
LEFT JOIN {{ ref('mart_facility_directory') }} AS f ON f.facility_id = r.facilityid
LEFT JOIN {{ ref('stg_programs') }} AS p ON p.id = r.programid
LEFT JOIN {{ ref('stg_processing_periods') }} AS pp ON pp.id = r.processingperiodid
LEFT JOIN {{ ref('stg_orderables') }} AS o ON o.id = li.orderableid AND o.versionnumber = li.orderableversionnumber
WHERE NOT li.skipped
