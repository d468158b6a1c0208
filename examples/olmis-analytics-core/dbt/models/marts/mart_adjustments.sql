-- Stock movements recorded with a reason (receipts, consumption, damage, expiry, transfers...),
-- one row per stock card line item, with the reason's type and category and the signed quantity
-- (positive adds stock, negative removes it).
SELECT
    b.line_item_id AS adjustment_id,
    b.stock_card_id AS stock_card_id,
    s.facility_id,
    s.facility_code,
    s.facility_name,
    s.district_name,
    s.region_id,
    s.region_name,
    s.program_id,
    s.program_code,
    s.orderable_id,
    s.product_code,
    s.product_name,
    b.reason_id,
    r.name AS reason_name,
    r.reasontype AS reason_type,
    r.reasoncategory AS reason_category,
    b.quantity,
    b.signed_quantity,
    b.occurred_date,
    b.processed_at
FROM {{ ref('int_stock_card_balances') }} AS b
LEFT JOIN {{ ref('stg_stock_card_line_item_reasons') }} AS r ON r.id = b.reason_id
LEFT JOIN {{ ref('mart_stock_on_hand') }} AS s ON s.stock_card_id = b.stock_card_id
WHERE b.reason_id IS NOT NULL
